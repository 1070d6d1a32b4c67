"""The benchmark's results: one measured phase (``Row``), the best of repeated rounds, and
the Markdown tables ``run.py`` prints. Pure: values in, text out.

Three ratios to the floor, each against the best floor variant of the same N and poll:
- **x floor (wall)**: the whole command, interpreter start-up, imports and config included
  (``monitor poll --once`` and ``floor.py`` are each one process per poll);
- **x floor (CPU)**: user + system time, worker processes included;
- **x floor (in-process)**: the poll alone, as the daemon repeats it every interval
  (``monitor_all.py`` and ``floor.py`` time it inside the process).
"""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psutil


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
    inner_ratio: float | None = None  # poll s (in-process) over the floor's least


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
        "| feeds | new items | x floor (wall) | x floor (CPU) | x floor (in-process) "
        "| other CPU s | note |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        inner = f"{r.inner_wall:.2f}" if r.inner_wall is not None else ""
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else ""
        ratio += f" | {r.cpu_ratio:.2f}" if r.cpu_ratio is not None else " | "
        ratio += f" | {r.inner_ratio:.2f}" if r.inner_ratio is not None else " | "
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
            inner = [r.inner_wall for r in good if r.inner_wall]
            for r in rows:
                # a run that polled only part of the feeds has no comparable ratio
                if r.n == n and r.phase == phase and r.feeds_polled == n:
                    r.ratio = r.wall / best
                    r.cpu_ratio = r.cpu / least_cpu
                    if inner and r.inner_wall:
                        r.inner_ratio = r.inner_wall / min(inner)


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


def round_table(runs: list[list[list[Row]]]) -> str:
    """Wall time over the round's best floor, per runner, poll and round (``runs``: runner →
    round → that round's rows). The best-of table compares each runner's best round, which
    may not be the floor's; this one shows how far the ratio moves from round to round."""
    floors = [r for r in runs if r and r[0] and r[0][0].runner.startswith("floor")]
    others = [r for r in runs if r and r[0] and not r[0][0].runner.startswith("floor")]
    times = len(runs[0]) if runs else 0
    out = [
        "| N | runner | poll | " + " | ".join(f"round {k + 1}" for k in range(times)) + " |",
        "|---:|---|---|" + "---:|" * times,
    ]
    for runner_runs in others:
        for i, row in enumerate(runner_runs[0]):
            cells = []
            for k in range(times):
                mine = runner_runs[k][i]
                floor = [
                    f[k][j].wall
                    for f in floors
                    for j, fr in enumerate(f[k])
                    if fr.phase == mine.phase and fr.ok
                ]
                ok = mine.ok and mine.feeds_polled == mine.n and floor
                cells.append(
                    f"{mine.wall:.2f} s / {min(floor):.2f} s = {mine.wall / min(floor):.2f}×"
                    if ok
                    else "n/a"
                )
            out.append(f"| {row.n} | {row.runner} | {row.phase} | " + " | ".join(cells) + " |")
    return "\n".join(out)
