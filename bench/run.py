"""Benchmarks for issue 7, in one run: the httpx + feedparser floor against monitor's poll, for
each number of feeds; then matching throughput and alert latency.

    /tmp/venv/bin/python bench/run.py --feeds 100 1000 10000 [--json out.json]

For each N (feeds ``/feed/0..N-1`` of one local feed server started here):
- floor variants (``bench/floor.py``): poll 1 (all new) and poll 2 (all 304);
- ``monitor poll --once`` on a fresh SQLite database, then again (all unchanged);
- ``monitor, every feed`` (``bench/monitor_all.py``): the same pipeline driven until no feed
  is due, because ``poll --once`` claims one batch of at most 500 feeds;
each measured as a child process: wall time, CPU (user+sys, reaped workers included),
ru_maxrss, sampled peak RSS of the process tree, and the ratio to the best floor variant.

monitor is run from a snapshot of a git ref (default HEAD, exported with ``git archive``) so
that edits in progress in the work tree do not change what is measured; ``--monitor-ref
WORKTREE`` measures the work tree as it is.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import common
import measuring
import psutil

PY = sys.executable


@dataclass(frozen=True)
class Variant:
    name: str
    mode: str
    concurrency: int
    clients: int
    procs: int
    max_feeds: int = 10**9  # skipped above this N (too slow to be the floor anyway)


FLOORS = (
    Variant("floor: one client, 50 concurrent", "one", 50, 1, 0, max_feeds=1000),
    Variant("floor: 10 clients x 5, parse in 2 procs", "sharded", 50, 10, 2),
    Variant("floor: 25 clients x 2, parse in 2 procs", "sharded", 50, 25, 2),
)


# ---------------------------------------------------------------- monitor source


def monitor_source(ref: str) -> tuple[Path, str]:
    """A directory to put first on PYTHONPATH holding monitor at ``ref``, and a label.

    The snapshot is byte-compiled, as ``pip install`` does: with PYTHONDONTWRITEBYTECODE set
    (it is on some machines) every run would otherwise compile monitor's source again,
    ~0.1 s of start-up no installed copy pays."""
    if ref == "WORKTREE":
        sha = _git("rev-parse", "--short=12", "HEAD")
        dirty = bool(_git("status", "--porcelain", "--", "monitor", "migrations"))
        dest = Path(tempfile.mkdtemp(prefix="monitor-bench-worktree-"))
        ignore = shutil.ignore_patterns("__pycache__")
        shutil.copytree(common.ROOT / "monitor", dest / "monitor", ignore=ignore)
        shutil.copytree(common.ROOT / "migrations", dest / "monitor" / "migrations", ignore=ignore)
        _compile(dest)
        return dest, f"work tree at {sha}{' + uncommitted changes' if dirty else ''}"
    sha = _git("rev-parse", ref)
    dest = Path(tempfile.gettempdir()) / "monitor-bench-src" / sha[:12]
    if not (dest / "monitor" / "migrations").is_dir():
        tmp = dest.with_suffix(".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "-C", str(common.ROOT), "archive", sha, "monitor", "migrations"],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
        # the wheel maps migrations/ to monitor.migrations; do the same in the snapshot
        shutil.copytree(tmp / "migrations", tmp / "monitor" / "migrations")
        shutil.rmtree(dest, ignore_errors=True)
        tmp.rename(dest)
    _compile(dest)  # also a snapshot left by an older bench that did not compile it
    return dest, f"commit {sha[:12]} ({ref})"


def _compile(root: Path) -> None:
    subprocess.run([PY, "-m", "compileall", "-q", str(root / "monitor")], check=True)


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(common.ROOT), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def child_env(src: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    paths = [str(common.BENCH)] + ([str(src)] if src else [])
    env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("MONITOR_CONFIG", None)
    return env


# ---------------------------------------------------------------- feed server


class FeedServer:
    def __init__(self, feeds: int, workers: int, log: Path, extra: list[str]) -> None:
        self.log = log.open("w")
        self.proc = subprocess.Popen(
            [
                PY,
                str(common.BENCH / "feedserver.py"),
                "--feeds",
                str(feeds),
                "--workers",
                str(workers),
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        m = re.search(r"READY port=(\d+)", line)
        if not m:
            raise SystemExit(f"feed server did not start: {line!r} (see {log})")
        self.port = int(m.group(1))
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self.workers = [psutil.Process(p) for p in self.stats()["pids"]]

    def url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.port}/feed/{i}.xml"

    def stats(self) -> dict[str, Any]:
        with self.opener.open(f"http://127.0.0.1:{self.port}/stats", timeout=5) as r:
            doc: dict[str, Any] = json.loads(r.read())
        return doc

    def snapshot(self) -> tuple[int, float]:
        cpu = sum(sum(p.cpu_times()[:2]) for p in self.workers)
        return int(self.stats()["requests"]), cpu

    def stop(self) -> str:
        """Stop the server; returns its own summary line (requests/s while busy)."""
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()
        lines = Path(self.log.name).read_text().splitlines()
        return next((x for x in reversed(lines) if "served" in x), "")


# ---------------------------------------------------------------- one measured phase


@dataclass
class Row:
    n: int
    runner: str
    phase: str  # new | unchanged
    wall: float
    cpu: float
    maxrss_mb: float
    tree_peak_mb: float
    feeds_polled: int
    items: int
    inner_wall: float | None  # the poll itself, without start-up (when the child reports it)
    server_requests: int
    server_cpu: float
    ok: bool
    note: str = ""
    ratio: float | None = None
    other_cpu: float = 0.0  # CPU-seconds used on the machine by processes not ours
    cpu_ratio: float | None = None  # CPU time over the floor's least CPU time


def _busy() -> float:
    t = psutil.cpu_times()
    return float(sum(t) - t.idle - getattr(t, "iowait", 0.0))


def _own() -> float:
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def measure(
    server: FeedServer, cmd: list[str], env: dict[str, str], timeout: float
) -> tuple[measuring.Measured, int, float]:
    """Run one phase; the Measured's ``extra["other_cpu"]`` is the CPU time that processes
    other than the child, the feed server and this harness used meanwhile (a busy machine)."""
    r0, c0 = server.snapshot()
    b0, o0 = _busy(), _own()
    m = measuring.run_measured(cmd, env=env, timeout=timeout)
    b1, o1 = _busy(), _own()
    r1, c1 = server.snapshot()
    m.extra["other_cpu"] = max(0.0, (b1 - b0) - m.cpu - (c1 - c0) - (o1 - o0))
    return m, r1 - r0, c1 - c0


def run_floor(
    server: FeedServer, v: Variant, n: int, work: Path, env: dict[str, str], timeout: float
) -> list[Row]:
    urls = work / "urls.txt"
    state = work / f"floor-{v.mode}-{v.clients}.json"
    state.unlink(missing_ok=True)
    rows = []
    for phase in ("new", "unchanged"):
        cmd = [PY, str(common.BENCH / "floor.py"), "--urls", str(urls), "--state", str(state)]
        cmd += ["--mode", v.mode, "--concurrency", str(v.concurrency)]
        cmd += ["--clients", str(v.clients), "--procs", str(v.procs)]
        m, req, scpu = measure(server, cmd, env, timeout)
        doc = _last_json(m.stdout)
        ok = m.returncode == 0 and doc.get("errors", 1) == 0
        rows.append(
            Row(
                n,
                v.name,
                phase,
                m.wall,
                m.cpu,
                m.maxrss_mb,
                m.tree_peak_mb,
                int(doc.get("ok", 0)) + int(doc.get("not_modified", 0)),
                int(doc.get("entries", 0)),
                doc.get("poll_wall"),
                req,
                scpu,
                ok,
                "" if ok else f"rc={m.returncode} {m.stderr[-300:]}",
            )
        )
        rows[-1].other_cpu = m.extra["other_cpu"]
    return rows


_DONE = re.compile(r"poll once done (.*)")


def run_monitor_cli(
    server: FeedServer, n: int, config: Path, env: dict[str, str], timeout: float
) -> list[Row]:
    rows = []
    for phase in ("new", "unchanged"):
        cmd = [PY, "-m", "monitor", "--config", str(config), "--log-level", "INFO"]
        cmd += ["poll", "--once"]
        m, req, scpu = measure(server, cmd, env, timeout)
        fields: dict[str, str] = {}
        for line in m.stderr.splitlines():
            if hit := _DONE.search(line):
                fields = dict(kv.split("=", 1) for kv in hit.group(1).split() if "=" in kv)
        feeds = int(fields.get("feeds", 0))
        ok = m.returncode == 0 and bool(fields)
        note = "" if ok else f"rc={m.returncode} {m.stderr[-300:]}"
        if ok and feeds < n:
            note = f"polled {feeds} of {n} feeds (one claim batch); "
        if ok and fields.get("failed", "0") != "0":
            note += f"{fields['failed']} feeds failed ({_kinds(m.stderr)}); "
        if ok:
            note += f"{fields.get('events', '?')} new events"
        rows.append(
            Row(
                n,
                "monitor poll --once",
                phase,
                m.wall,
                m.cpu,
                m.maxrss_mb,
                m.tree_peak_mb,
                feeds,
                int(fields.get("new_items", 0)),
                None,
                req,
                scpu,
                ok,
                note,
            )
        )
        rows[-1].other_cpu = m.extra["other_cpu"]
    return rows


def run_monitor_all(
    server: FeedServer, n: int, config: Path, env: dict[str, str], timeout: float
) -> list[Row]:
    rows = []
    for phase in ("new", "unchanged"):
        cmd = [PY, str(common.BENCH / "monitor_all.py"), "--config", str(config)]
        m, req, scpu = measure(server, cmd, env, timeout)
        doc = _last_json(m.stdout)
        ok = m.returncode == 0 and bool(doc)
        note = "" if ok else f"rc={m.returncode} {m.stderr[-300:]}"
        if ok:
            note = f"{doc['ticks']} claim batches, {doc['events']} new events"
            if doc["failed"]:
                note += f"; {doc['failed']} feeds failed ({_kinds(m.stderr)})"
        rows.append(
            Row(
                n,
                "monitor, every feed",
                phase,
                m.wall,
                m.cpu,
                m.maxrss_mb,
                m.tree_peak_mb,
                int(doc.get("feeds", 0)),
                int(doc.get("new_items", 0)),
                doc.get("poll_wall"),
                req,
                scpu,
                ok,
                note,
            )
        )
        rows[-1].other_cpu = m.extra["other_cpu"]
    return rows


def _kinds(log: str) -> str:
    """Failure kinds counted from monitor's "feed poll failed ... kind=X" log lines."""
    kinds = re.findall(r"feed poll failed .*?kind=(\S+)", log)
    kinds += ["internal"] * log.count("feed poll crashed")
    counts: dict[str, int] = {}
    for k in kinds:
        counts[k] = counts.get(k, 0) + 1
    return ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "see log"


def _last_json(text: str) -> dict[str, Any]:
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            try:
                doc: dict[str, Any] = json.loads(line)
                return doc
            except json.JSONDecodeError:
                break
    return {}


# ---------------------------------------------------------------- report


def machine() -> dict[str, Any]:
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": model,
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def table(rows: list[Row]) -> str:
    out = [
        "| N | runner | poll | wall s | poll s (in-process) | CPU s | maxrss MB | tree peak MB "
        "| feeds | new items | x floor (wall) | x floor (CPU) | other CPU s | note |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        inner = f"{r.inner_wall:.2f}" if r.inner_wall is not None else ""
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else ""
        ratio += f" | {r.cpu_ratio:.2f}" if r.cpu_ratio is not None else " | "
        note = r.note if r.ok else "FAILED " + r.note.replace("\n", " ")[:120]
        out.append(
            f"| {r.n} | {r.runner} | {r.phase} | {r.wall:.2f} | {inner} | {r.cpu:.2f} "
            f"| {r.maxrss_mb:.0f} | {r.tree_peak_mb:.0f} | {r.feeds_polled} | {r.items} "
            f"| {ratio} | {r.other_cpu:.1f} | {note} |"
        )
    return "\n".join(out)


def server_table(rows: list[Row]) -> str:
    out = [
        "| N | runner | poll | requests | server CPU s | requests/s (wall) "
        "| server capacity req/s per core |",
        "|---:|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        cap = r.server_requests / r.server_cpu if r.server_cpu > 0 else float("inf")
        out.append(
            f"| {r.n} | {r.runner} | {r.phase} | {r.server_requests} | {r.server_cpu:.2f} "
            f"| {r.server_requests / r.wall:.0f} | {cap:.0f} |"
        )
    return "\n".join(out)


def add_ratios(rows: list[Row]) -> None:
    for n in {r.n for r in rows}:
        for phase in ("new", "unchanged"):
            floors = [
                r for r in rows if r.n == n and r.phase == phase and r.runner.startswith("floor")
            ]
            good = [r for r in floors if r.ok]
            if not good:
                continue
            best = min(r.wall for r in good)
            least_cpu = min(r.cpu for r in good)
            for r in rows:
                # a run that polled only part of the feeds has no comparable ratio
                if r.n == n and r.phase == phase and r.feeds_polled == n:
                    r.ratio = r.wall / best
                    r.cpu_ratio = r.cpu / least_cpu


# ---------------------------------------------------------------- main


def main() -> None:
    p = argparse.ArgumentParser(description="issue 7 benchmarks (floor vs monitor)")
    p.add_argument("--feeds", type=int, nargs="+", default=[100, 1000])
    p.add_argument("--monitor-ref", default="HEAD", help="git ref to measure, or WORKTREE")
    p.add_argument("--server-workers", type=int, default=2)
    p.add_argument("--no-gzip", action="store_true")
    p.add_argument("--all-floors", action="store_true", help="run every floor variant at any N")
    p.add_argument("--skip-cli", action="store_true", help="skip `monitor poll --once`")
    p.add_argument("--skip-all", action="store_true", help="skip `monitor, every feed`")
    p.add_argument("--skip-match", action="store_true")
    p.add_argument("--skip-latency", action="store_true")
    p.add_argument(
        "--repeat", type=int, default=1, help="run each runner this often, keep the fastest"
    )
    p.add_argument("--timeout", type=float, default=3600.0, help="per child process, seconds")
    p.add_argument("--json", type=Path, help="write every figure here as JSON")
    a = p.parse_args()

    src, label = monitor_source(a.monitor_ref)
    env = child_env(src)
    info = machine() | {"monitor": label, "command": " ".join(sys.argv)}
    print("# monitor benchmarks\n")
    for k, v in info.items():
        print(f"- {k}: {v}")
    print(flush=True)

    work = Path(tempfile.mkdtemp(prefix="monitor-bench-"))
    officials = common.make_officials(50)
    extra = ["--no-gzip"] if a.no_gzip else []
    server = FeedServer(max(a.feeds), a.server_workers, work / "feedserver.log", extra)
    rows: list[Row] = []
    try:
        for n in sorted(a.feeds):
            load = os.getloadavg()[0]
            nwork = work / f"n{n}"
            nwork.mkdir()
            urls = [server.url(i) for i in range(n)]
            (nwork / "urls.txt").write_text("\n".join(urls) + "\n")
            these: list[Row] = []

            def config(name: str, urls: list[str] = urls, nwork: Path = nwork) -> Path:
                # a fresh database for every run
                # interval 1d: a poll that outlasts the interval would re-poll its first feeds
                return common.write_monitor_config(
                    nwork / name,
                    feed_urls=urls,
                    database=nwork / f"{name}.db",
                    officials=officials,
                    interval="1d",
                )

            runners = [
                _floor_runner(server, v, n, nwork, env, a.timeout)
                for v in FLOORS
                if n <= v.max_feeds or a.all_floors
            ]
            if not a.skip_cli:
                runners.append(_monitor_runner(run_monitor_cli, server, n, config, "cli", env, a))
            if not a.skip_all:
                runners.append(_monitor_runner(run_monitor_all, server, n, config, "all", env, a))
            these += in_rounds(runners, a.repeat)
            add_ratios(these)
            rows += these
            loads = f"load average (1 min) {load:.2f} before, {os.getloadavg()[0]:.2f} after"
            print(f"\n## {n} feeds ({loads})\n\n{table(these)}\n", flush=True)
    finally:
        summary = server.stop()
    print("## Poll results\n\n" + table(rows) + "\n")
    print(f"{summary}\n")
    print("## Feed server during each phase\n\n" + server_table(rows) + "\n", flush=True)

    results: dict[str, Any] = {"machine": info, "polls": [asdict(r) for r in rows]}
    if not a.skip_match:
        results["match"] = _sub(env, [str(common.BENCH / "match_bench.py")])
    if not a.skip_latency:
        results["latency"] = _sub(env, [str(common.BENCH / "latency.py")])
    if a.json:
        a.json.write_text(json.dumps(results, indent=2, default=str))
    shutil.rmtree(work, ignore_errors=True)
    if a.monitor_ref == "WORKTREE":  # a copy made for this run only
        shutil.rmtree(src, ignore_errors=True)


def _sub(env: dict[str, str], args: list[str]) -> dict[str, Any]:
    """Run a sibling benchmark; its Markdown goes to our stdout, its last JSON line is kept."""
    started = time.perf_counter()
    proc = subprocess.run([PY, *args], env=env, capture_output=True, text=True)
    lines = proc.stdout.splitlines()
    print("\n".join(line for line in lines if not line.startswith("{")), flush=True)
    if proc.returncode:
        print(f"{args[0]} failed rc={proc.returncode}\n{proc.stderr[-2000:]}", flush=True)
    doc = _last_json(proc.stdout)
    doc["seconds"] = time.perf_counter() - started
    return doc


Runner = Callable[[int], list[Row]]  # one round's run (the round's number given)


def in_rounds(runners: list[Runner], times: int) -> list[Row]:
    """Every runner once per round, ``times`` rounds; the best of each. This machine's speed
    drifts by 20-50% over minutes: in rounds, a drift reaches the floor and monitor alike
    instead of all of one runner's repeats."""
    runs: list[list[list[Row]]] = [[] for _ in runners]
    for k in range(times):
        for i, runner in enumerate(runners):
            runs[i].append(runner(k))
    return [row for r in runs for row in best(r)]


def _floor_runner(
    server: FeedServer, v: Variant, n: int, nwork: Path, env: dict[str, str], timeout: float
) -> Runner:
    return lambda _round: run_floor(server, v, n, nwork, env, timeout)


def _monitor_runner(
    fn: Callable[..., list[Row]],
    server: FeedServer,
    n: int,
    config: Callable[[str], Path],
    name: str,
    env: dict[str, str],
    a: argparse.Namespace,
) -> Runner:
    """Each round's run on a config (and database) of its own."""
    return lambda k: fn(server, n, config(f"{name}{k}"), env, a.timeout)


def best(runs: list[list[Row]]) -> list[Row]:
    """Per phase, the run with the least wall time (successful runs first)."""
    for rows in runs:
        _progress(rows)
    out = []
    for i in range(len(runs[0])):
        candidates = [rows[i] for rows in runs]
        chosen = min([r for r in candidates if r.ok] or candidates, key=lambda r: r.wall)
        if len(runs) > 1:
            chosen.note = f"{chosen.note}; best of {len(runs)}".lstrip("; ")
        out.append(chosen)
    return out


def _progress(rows: list[Row]) -> None:
    for r in rows:
        print(
            f"  {r.n:>6} {r.runner:<42} {r.phase:<9} wall {r.wall:7.2f}s cpu {r.cpu:7.2f}s "
            f"rss {r.maxrss_mb:5.0f}MB feeds {r.feeds_polled} items {r.items} "
            f"other-cpu {r.other_cpu:5.1f}s {'ok' if r.ok else 'FAILED'} {r.note[:200]}",
            file=sys.stderr,
            flush=True,
        )


if __name__ == "__main__":
    main()
