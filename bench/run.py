"""Benchmarks for issue 7, in one run: the httpx + feedparser floor against monitor's poll, for
each number of feeds; then matching throughput and alert latency.

    /tmp/venv/bin/python bench/run.py --feeds 100 1000 10000 [--json out.json]

For each N (feeds ``/feed/0..N-1`` of one local feed server started here):
- floor variants (``bench/floor.py``): poll 1 (all new) and poll 2 (all 304);
- ``monitor poll --once`` on a fresh SQLite database (``--postgres URL``: a fresh PostgreSQL
  database on that server), then again (all unchanged);
- ``monitor, every feed`` (``bench/monitor_all.py``): the same pipeline in-process, the poll
  timed without interpreter start-up, imports and config;
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
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import alternatives
import common
import measuring
import psutil
from harness import PY, FeedServer, PgDatabases, child_env, monitor_source
from report import Row, add_ratios, best, machine, round_table, server_table, table


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


# ---------------------------------------------------------------- one measured phase


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
        polled = int(doc.get("ok", 0)) + int(doc.get("not_modified", 0))
        entries = int(doc.get("entries", 0))
        note = "" if ok else _failure(m)
        rows.append(
            _row(n, v.name, phase, m, req, scpu, polled, entries, doc.get("poll_wall"), ok, note)
        )
    return rows


def run_alternative(server: FeedServer, tool: str, n: int, work: Path, timeout: float) -> list[Row]:
    """A tool users might pick instead (bench/alternatives.py), fresh state, polled twice."""
    tw = work / f"alt-{tool}"
    shutil.rmtree(tw, ignore_errors=True)
    tw.mkdir()
    cmd = alternatives.command(tool, (work / "urls.txt").read_text().split(), tw)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    rows = []
    for phase in ("new", "unchanged"):
        before = alternatives.delivered(tw)
        m, req, scpu = measure(server, cmd, env, timeout)
        items = alternatives.delivered(tw) - before
        ok = m.returncode == 0
        note = f"{req} requests" if ok else _failure(m)
        # every configured feed (the tools report no count); the messages in the Maildir
        rows.append(
            _row(n, alternatives.TOOLS[tool].name, phase, m, req, scpu, n, items, None, ok, note)
        )
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
        feeds, items = int(fields.get("feeds", 0)), int(fields.get("new_items", 0))
        ok = m.returncode == 0 and bool(fields)
        note = "" if ok else _failure(m)
        if ok and feeds < n:
            note = f"polled {feeds} of {n} feeds (one claim batch); "
        if ok and fields.get("failed", "0") != "0":
            note += f"{fields['failed']} feeds failed ({_kinds(m.stderr)}); "
        if ok:
            note += f"{fields.get('events', '?')} new events"
        rows.append(
            _row(n, "monitor poll --once", phase, m, req, scpu, feeds, items, None, ok, note)
        )
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
        feeds, items = int(doc.get("feeds", 0)), int(doc.get("new_items", 0))
        note = "" if ok else _failure(m)
        if ok:
            note = f"{doc['ticks']} claim batches, {doc['events']} new events"
            if doc["failed"]:
                note += f"; {doc['failed']} feeds failed ({_kinds(m.stderr)})"
        rows.append(
            _row(
                n,
                "monitor, every feed",
                phase,
                m,
                req,
                scpu,
                feeds,
                items,
                doc.get("poll_wall"),
                ok,
                note,
            )
        )
    return rows


def _failure(m: measuring.Measured) -> str:
    return f"rc={m.returncode} {m.stderr[-300:]}"


def _row(
    n: int,
    runner: str,
    phase: str,
    m: measuring.Measured,
    requests: int,
    server_cpu: float,
    feeds: int,
    items: int,
    inner_wall: float | None,
    ok: bool,
    note: str,
) -> Row:
    """One measured phase (``measure``'s figures) with the child's own counts, as a row."""
    row = Row(
        n,
        runner,
        phase,
        m.wall,
        m.cpu,
        m.maxrss_mb,
        m.tree_peak_mb,
        feeds,
        items,
        inner_wall,
        requests,
        server_cpu,
        ok,
        note,
    )
    row.other_cpu = m.extra["other_cpu"]
    return row


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
    p.add_argument(
        "--alternatives",
        action="store_true",
        help="also run rss2email and feed2exec (bench/alternatives.py) up to --alternatives-max",
    )
    p.add_argument("--alternatives-max", type=int, default=1000, metavar="N")
    p.add_argument(
        "--postgres",
        metavar="URL",
        help="monitor's database: a fresh one per run on this PostgreSQL server (e.g. "
        "postgresql+psycopg://postgres@127.0.0.1:5432/test) instead of a SQLite file",
    )
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
    pg = PgDatabases(a.postgres) if a.postgres else None
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
                    database=pg.url(f"{nwork.name}_{name}") if pg else nwork / f"{name}.db",
                    officials=officials,
                    interval="1d",
                )

            runners = [
                _floor_runner(server, v, n, nwork, env, a.timeout)
                for v in FLOORS
                if n <= v.max_feeds or a.all_floors
            ]
            if a.alternatives and n <= a.alternatives_max:
                runners += [
                    _alternative_runner(server, tool, n, nwork, a.timeout)
                    for tool in alternatives.TOOLS
                ]
            if not a.skip_cli:
                runners.append(_monitor_runner(run_monitor_cli, server, n, config, "cli", env, a))
            if not a.skip_all:
                runners.append(_monitor_runner(run_monitor_all, server, n, config, "all", env, a))
            bests, rounds = in_rounds(runners, a.repeat)
            these += bests
            add_ratios(these)
            rows += these
            loads = f"load average (1 min) {load:.2f} before, {os.getloadavg()[0]:.2f} after"
            print(f"\n## {n} feeds ({loads})\n\n{table(these)}\n", flush=True)
            if a.repeat > 1:
                print(f"### {n} feeds, round by round\n\n{rounds}\n", flush=True)
    finally:
        summary = server.stop()
        if pg is not None:
            pg.drop_all()
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


def in_rounds(runners: list[Runner], times: int) -> tuple[list[Row], str]:
    """Every runner once per round, ``times`` rounds: the best of each, and the ratios to
    the floor round by round (Markdown). This machine's speed drifts by 20-50% over
    minutes: in rounds, a drift reaches the floor and monitor alike instead of all of one
    runner's repeats."""
    runs: list[list[list[Row]]] = [[] for _ in runners]
    for k in range(times):
        for i, runner in enumerate(runners):
            runs[i].append(runner(k))
    return [row for r in runs for row in best(r)], round_table(runs)


def _floor_runner(
    server: FeedServer, v: Variant, n: int, nwork: Path, env: dict[str, str], timeout: float
) -> Runner:
    return lambda _round: run_floor(server, v, n, nwork, env, timeout)


def _alternative_runner(
    server: FeedServer, tool: str, n: int, nwork: Path, timeout: float
) -> Runner:
    return lambda _round: run_alternative(server, tool, n, nwork, timeout)


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


if __name__ == "__main__":
    main()
