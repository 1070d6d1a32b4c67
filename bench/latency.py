"""Alert latency: a new item appears in a local feed -> its email reaches a local SMTP server.

    /tmp/venv/bin/python bench/latency.py [--items 50] [--feeds 10] [--interval 1s]

Runs ``monitor run`` (the daemon) as a child process with a generated config: ``--feeds``
feeds on a one-worker local feed server, polled every ``--interval`` (poll tick 0.2 s,
outbox tick 0.2 s), one subscriber whose channel is ``mailto://`` to an aiosmtpd server in
this process. The feeds' existing items report no meetings (no backlog alerts). After the
daemon has polled every feed twice and no mail has come for 3 s, it adds ``--items`` items
one at a time, at random gaps, each reporting a meeting of a different watched official
(so each is a new event), and times each from the moment the server holds the item to the
moment its email is received.
Target (issue 7): p95 <= poll interval + 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import common
from aiosmtpd.controller import Controller
from harness import PY, FeedServer

BACKLOG_OFFICIALS = 50  # officials 0..49 are left to the feeds' own items (none by default)


class Sink:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[tuple[float, str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        at = time.time()
        text = envelope.original_content.decode("utf-8", errors="replace")
        with self.lock:
            self.received.append((at, text))
        return "250 OK"

    def count(self) -> int:
        with self.lock:
            return len(self.received)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(cond: Any, timeout: float, step: float = 0.1) -> bool:
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(step)
    return bool(cond())


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[k]


def main() -> None:
    p = argparse.ArgumentParser(description="alert latency through monitor run")
    p.add_argument("--items", type=int, default=50)
    p.add_argument("--feeds", type=int, default=10)
    p.add_argument("--interval", default="1s", help="per-feed poll interval")
    p.add_argument("--tick", default="0.2s", help="poll and outbox tick")
    p.add_argument("--seed", type=int, default=3)
    p.add_argument(
        "--min-interval",
        default="0.05s",
        help="delivery.min_interval for the local SMTP server (default 0.05s); 'default' keeps "
        "apprise's pace per channel (email: one message per ~5.5 s, so 50 alerts to one "
        "mailbox in 30 s take minutes by design)",
    )
    a = p.parse_args()
    interval_s = float(a.interval.rstrip("s"))
    rng = random.Random(a.seed)
    officials = common.make_officials(BACKLOG_OFFICIALS + a.items)
    work = Path(tempfile.mkdtemp(prefix="monitor-latency-"))
    sink = Sink()
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    server = FeedServer(
        a.feeds,
        1,
        work / "feedserver.log",
        # no meeting in the feeds' existing items: no backlog alerts to wait for
        ["--quiet", "--officials", str(len(officials)), "--mention-every", "0"],
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    mail = f"mailto://127.0.0.1:{smtp_port}?mode=insecure&from=monitor@example.org&to=desk@x.org"
    cfg = common.write_monitor_config(
        work / "cfg",
        feed_urls=[server.url(i) for i in range(a.feeds)],
        database=work / "latency.db",
        officials=officials,
        interval=a.interval,
        tick=a.tick,
        delivery_tick=a.tick,
        delivery_min_interval=None if a.min_interval == "default" else a.min_interval,
        subscribers=[{"name": "desk", "notify": [mail]}],
    )
    log = (work / "daemon.log").open("w")
    daemon = subprocess.Popen(
        [PY, "-m", "monitor", "--config", str(cfg), "run"],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=work,
        env=os.environ.copy(),
    )
    latencies: list[float] = []
    missing: list[str] = []
    try:
        if not wait_for(lambda: server.stats()["requests"] >= 2 * a.feeds, 60):
            raise SystemExit(f"daemon did not poll the feeds; see {work / 'daemon.log'}")
        quiet_since = time.time()
        seen = sink.count()
        while time.time() - quiet_since < 3.0:  # backlog alerts (if any) have stopped
            time.sleep(0.2)
            if sink.count() != seen:
                seen, quiet_since = sink.count(), time.time()
        backlog = sink.count()
        added: list[tuple[float, str]] = []
        for k in range(a.items):
            official = BACKLOG_OFFICIALS + k
            feed = k % a.feeds
            place = rng.randrange(len(common.PLACES))
            url = f"http://127.0.0.1:{server.port}/control/add/{feed}?official={official}"
            req = urllib.request.Request(f"{url}&place={place}", method="POST", data=b"")
            t = time.time()
            with opener.open(req, timeout=5) as r:
                r.read()
            added.append((t, officials[official].name))
            time.sleep(rng.uniform(0.3, 0.9))
        wait_for(lambda: sink.count() - backlog >= a.items, 30 + 3 * interval_s)
        with sink.lock:
            mails = sink.received[backlog:]
        for t_add, name in added:
            got = [at for at, text in mails if name in text]
            if got:
                latencies.append(min(got) - t_add)
            else:
                missing.append(name)
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(30)
        except subprocess.TimeoutExpired:
            daemon.kill()
        log.close()
        server.stop()
        controller.stop()
    doc: dict[str, Any] = {
        "items": a.items,
        "feeds": a.feeds,
        "interval_s": interval_s,
        "tick": a.tick,
        "received": len(latencies),
        "missing": len(missing),
        "backlog_mails": backlog,
    }
    if latencies:
        doc |= {
            "p50": statistics.median(latencies),
            "p95": pct(latencies, 0.95),
            "max": max(latencies),
            "min": min(latencies),
        }
    print("## Alert latency (new item in a feed -> email at the SMTP server)\n")
    print(
        f"{a.items} items over {a.feeds} feeds, feed interval {a.interval}, poll and outbox tick "
        f"{a.tick}, `monitor run` as a child process; {backlog} backlog mails before the test\n"
    )
    print("| received | missing | p50 s | p95 s | max s | target p95 ≤ interval + 1 s |")
    print("|---:|---:|---:|---:|---:|---|")
    if latencies:
        verdict = "met" if doc["p95"] <= interval_s + 1 else "missed"
        print(
            f"| {len(latencies)} | {len(missing)} | {doc['p50']:.2f} | {doc['p95']:.2f} "
            f"| {doc['max']:.2f} | ≤ {interval_s + 1:.1f} s: {verdict} |"
        )
    else:
        print(f"| 0 | {len(missing)} | | | | no alert arrived (see {work / 'daemon.log'}) |")
    print()
    print(json.dumps(doc))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
