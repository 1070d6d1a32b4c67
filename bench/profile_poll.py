"""Where does ``monitor poll --once`` spend its time? py-spy on a fresh poll and an
all-unchanged poll against the local feed server; prints Markdown tables.

    /tmp/venv/bin/python bench/profile_poll.py --feeds 1000 [--driver cli|all] [--rate 200]

Samples every thread that is not idle (the event loop and asyncio.to_thread workers), so the
totals are busy thread-seconds, not wall time. Each sample is put in one bucket by the
outermost recognisable stage on its stack (fetch, parse, match, store, ...). The raw py-spy
stacks are kept (``--keep DIR``) for flame graphs.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import common
from harness import PY, FeedServer, child_env, monitor_source

# (bucket, markers): a sample goes to the first bucket any of whose markers is on its stack.
BUCKETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("start-up: imports", ("_find_and_load",)),
    ("parse: feedparser", ("feedparser/",)),
    ("parse: monitor.parse (html_to_text, entries)", ("monitor/parse.py",)),
    (
        "match: monitor.match",
        ("monitor/match.py", "monitor/tokens.py", "monitor/dates.py", "monitor/lexicon.py"),
    ),
    ("store: record_polls (items, events, outbox rows)", ("record_polls",)),
    ("store: save_polls / save_poll", ("save_poll",)),
    ("store: claim/sync/other", ("monitor/store.py", "sqlalchemy/", "sqlmodel/")),
    ("migrations (alembic)", ("alembic/",)),
    ("config load (YAML + validation)", ("monitor/config.py", "yaml/", "pydantic")),
    ("gazetteer/matcher build", ("monitor/gazetteer.py", "pycountry")),
    ("notify/render", ("monitor/notify.py", "monitor/render.py", "apprise/")),
    ("fetch: httpx/httpcore", ("httpx/", "httpcore/", "h11/", "anyio/", "monitor/fetch.py")),
    ("pipeline/other monitor code", ("monitor/",)),
    ("asyncio loop + threads", ("asyncio/", "threading.py", "concurrent/")),
)


def load(path: Path) -> list[tuple[list[str], int]]:
    out = []
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if stack:
            out.append((stack.split(";"), int(n)))
    return out


def bucket_of(frames: list[str]) -> str:
    for name, markers in BUCKETS:
        if any(m in f for f in frames for m in markers):
            return name
    return "other"


def report(title: str, samples: list[tuple[list[str], int]], rate: int, top: int) -> str:
    total = sum(n for _, n in samples) or 1
    buckets: Counter[str] = Counter()
    self_t: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    for frames, n in samples:
        buckets[bucket_of(frames)] += n
        self_t[frames[-1]] += n
        for f in set(frames):
            if "monitor/" in f:
                incl[f] += n
    lines = [f"### {title}: {total / rate:.1f} busy thread-seconds ({total} samples)\n"]
    lines += ["| stage | thread-s | share |", "|---|---:|---:|"]
    for name, n in buckets.most_common():
        lines.append(f"| {name} | {n / rate:.2f} | {100 * n / total:.0f}% |")
    lines += ["", "| monitor function (inclusive) | thread-s | share |", "|---|---:|---:|"]
    for f, n in incl.most_common(top):
        lines.append(f"| `{f}` | {n / rate:.2f} | {100 * n / total:.0f}% |")
    lines += ["", "| function (self) | thread-s | share |", "|---|---:|---:|"]
    for f, n in self_t.most_common(top):
        lines.append(f"| `{f}` | {n / rate:.2f} | {100 * n / total:.0f}% |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description="py-spy profile of monitor's poll")
    p.add_argument("--feeds", type=int, default=1000)
    p.add_argument("--driver", choices=["cli", "all"], default="cli")
    p.add_argument("--rate", type=int, default=200)
    p.add_argument("--top", type=int, default=15)
    p.add_argument("--monitor-ref", default="HEAD")
    p.add_argument("--keep", type=Path, help="copy the raw py-spy stacks here")
    p.add_argument("--report", type=Path, nargs="+", help="only report these kept raw files")
    a = p.parse_args()
    if a.report:
        for raw in a.report:
            print(report(raw.stem, load(raw), a.rate, a.top))
        return
    pyspy = shutil.which("py-spy") or str(Path(PY).parent / "py-spy")
    src, label = monitor_source(a.monitor_ref)
    env = child_env(src)
    work = Path(tempfile.mkdtemp(prefix="monitor-profile-"))
    server = FeedServer(a.feeds, 2, work / "feedserver.log", ["--quiet"])
    try:
        urls = [server.url(i) for i in range(a.feeds)]
        cfg = common.write_monitor_config(
            work / "cfg",
            feed_urls=urls,
            database=work / "p.db",
            officials=common.make_officials(50),
        )
        if a.driver == "cli":
            target = [PY, "-m", "monitor", "--config", str(cfg), "poll", "--once"]
        else:
            target = [PY, str(common.BENCH / "monitor_all.py"), "--config", str(cfg)]
        print(f"## py-spy: `{' '.join(target[1:3])} …` at {a.feeds} feeds, monitor {label}\n")
        for phase in ("new", "unchanged"):
            raw = work / f"{phase}.txt"
            subprocess.run(
                [
                    pyspy,
                    "record",
                    "-r",
                    str(a.rate),
                    "--format",
                    "raw",
                    "-o",
                    str(raw),
                    "--nonblocking",
                    "--subprocesses",  # the parse + match worker processes too
                    "--",
                    *target,
                ],
                env=env,
                cwd=work,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            print(report(f"poll {phase}", load(raw), a.rate, a.top), flush=True)
            if a.keep:
                a.keep.mkdir(parents=True, exist_ok=True)
                shutil.copy(raw, a.keep / f"{a.driver}-{a.feeds}-{phase}.txt")
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
        if a.monitor_ref == "WORKTREE":  # a copy made for this run only
            shutil.rmtree(src, ignore_errors=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
