"""Two daemon processes on one PostgreSQL database (the real server on 127.0.0.1:5432).

50 local feeds at a 2 s interval, a 0.2 s tick and 4 s leases. Counted on the server side:
every feed is polled once per interval (no interval skipped, none polled twice), by either
instance; five feeds answer slower (5-7.4 s) than the lease, and are still never fetched by both
at once (the poller renews its lease). Each meeting alerts its subscriber exactly once
(real SMTP sink). Then instance A is killed with SIGKILL while it holds feeds and deliveries:
B takes them over within the lease and nothing is lost. Run with ``-s`` for the figures.
"""

from __future__ import annotations

import itertools
import signal
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from tests.conftest import WATCHLIST, write
from tests.feedfarm import FeedFarm, Hit, SlowSmtp, serve_farm, serve_slow_smtp
from tests.servers import FeedItem
from tests.test_daemon import Daemon, wait_until

FEEDS = 50
INTERVAL = 2.0
TICK = 0.2
LEASE = 4.0
# slower than the lease, and each its own pace: fetches that start together end apart, so the
# slow feeds spread over both instances instead of moving between them as one block
SLOW = {45: 5.0, 46: 5.6, 47: 6.2, 48: 6.8, 49: 7.4}
SMTP_DELAY = 0.6
STEADY = 10.0  # seconds measured with both instances up
TWICE, SKIPPED = 0.5, 1.9  # gaps between two polls of a feed, in intervals: the verdicts
COUNTRIES = [
    "Pakistan", "Jordan", "Russia", "Turkey", "Iraq", "Lebanon", "Egypt", "Qatar",
    "France", "Italy", "Japan", "Brazil", "India", "China", "Germany", "Spain",
    "Greece", "Oman", "Kuwait", "Bahrain", "Algeria", "Tunisia", "Morocco", "Libya",
]  # fmt: skip
BATCH = 8
PUBLISHED = datetime(2025, 11, 25, 10, tzinfo=UTC)
ANY_COUNTRY = WATCHLIST.replace(
    "countries: [European Union, Pakistan, Jordan, Russia]", "countries: all"
)


def config(root: Path, name: str, database: str, farm: FeedFarm, smtp: SlowSmtp) -> Path:
    write(root / "watchlists" / "syria.yaml", ANY_COUNTRY)
    feeds = "".join(
        f'  - {{name: F{i}, url: "{farm.url(i)}", interval: {INTERVAL}s}}\n' for i in range(FEEDS)
    )
    subscribers = "".join(
        f'  - {{name: {c.lower()}, countries: [{c}], notify: ["{smtp.url(c.lower() + "@example.org")}"]}}\n'
        for c in COUNTRIES
    )
    text = (
        f'database: "{database}"\n'
        "watchlists: [watchlists/syria.yaml]\n"
        f"poll: {{tick: {TICK}s, lease: {LEASE}s, concurrency: 30, timeout: 10s}}\n"
        f"delivery: {{tick: {TICK}s, lease: {LEASE}s}}\n"
        f"fetch: {{per_host: 60, full_text: false, user_agent: monitor-{name}}}\n"
        "retention: {every: 1h}\n"
        f"feeds:\n{feeds}subscribers:\n{subscribers}"
    )
    return write(root / "monitor.yaml", text)


def meeting(country: str) -> FeedItem:
    return FeedItem(
        f"m-{country}",
        f"Defence Minister receives ambassador of {country}",
        f"Syria's Defence Minister Murhaf Abu Qasra received the Ambassador of {country} on "
        "25 November to discuss training.",
        PUBLISHED,
    )


def gaps(hits: list[Hit]) -> list[float]:
    times = sorted(h.at for h in hits)
    return [b - a for a, b in itertools.pairwise(times)]


def leases_of(conn: psycopg.Connection, owner: str) -> tuple[list[int], list[int]]:
    """Feeds (as farm indexes) and pending deliveries leased right now by ``owner``."""
    feeds = conn.execute(
        "SELECT url FROM feeds WHERE lease_owner LIKE %s AND lease_until > now()", (owner + "%",)
    ).fetchall()
    deliveries = conn.execute(
        "SELECT id FROM deliveries WHERE status = 'pending' AND lease_owner LIKE %s"
        " AND lease_until > now()",
        (owner + "%",),
    ).fetchall()
    return [int(u.rsplit("/", 1)[1].removesuffix(".xml")) for (u,) in feeds], [
        d for (d,) in deliveries
    ]


def test_two_instances_share_feeds_and_take_over_after_sigkill(tmp_path: Path, pg_url: str) -> None:
    farm = FeedFarm(FEEDS, delays=dict(SLOW))
    with serve_farm(farm), serve_slow_smtp(SMTP_DELAY) as smtp:
        conf_a = config(tmp_path / "a", "A", pg_url, farm, smtp)
        conf_b = config(tmp_path / "b", "B", pg_url, farm, smtp)
        up = subprocess.run(
            [sys.executable, "-m", "monitor", "--config", str(conf_a), "db", "upgrade"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert up.returncode == 0, up.stderr
        a, b = Daemon(conf_a, tmp_path / "a.log"), Daemon(conf_b, tmp_path / "b.log")
        a.start()
        b.start()
        conn = psycopg.connect(pg_url.replace("+psycopg", ""), autocommit=True)
        try:
            assert a.proc is not None and b.proc is not None
            owner_a = f"{socket.gethostname()}:{a.proc.pid}:"
            fast = [i for i in range(FEEDS) if i not in SLOW]
            # first polls done (a feed's first poll records its backlog silently)
            assert wait_until(lambda: all(len(farm.hits_of(i)) >= 2 for i in fast), timeout=60), (
                a.output() + b.output()
            )

            # 1. both up: every feed once per interval, by one instance or the other
            t0 = time.monotonic()
            time.sleep(STEADY)
            t1 = time.monotonic()

            # 2. meetings; kill A while it holds feeds and deliveries
            expected: list[str] = []
            killed_at = killed_wall = 0.0
            figures: list[str] = []
            held_feeds: list[int] = []
            held_deliveries: list[int] = []
            for n in range(0, len(COUNTRIES), BATCH):
                batch = COUNTRIES[n : n + BATCH]
                # add the meetings while A holds a slow feed (one fetch: 5 s or more), so that
                # A's deliveries of this round fall while it also holds feeds
                wait_until(lambda: bool(set(leases_of(conn, owner_a)[0]) & set(SLOW)), timeout=30)
                for k, country in enumerate(batch):
                    farm.add(fast[n + k], meeting(country))
                expected += batch
                end = time.monotonic() + 15
                while time.monotonic() < end:
                    held_feeds, held_deliveries = leases_of(conn, owner_a)
                    if held_feeds and held_deliveries:
                        a.proc.send_signal(signal.SIGKILL)
                        killed_at, killed_wall = time.monotonic(), time.time()
                        a.proc.wait()
                        break
                    time.sleep(0.02)
                if killed_at:
                    figures.append(f"A killed in round {n // BATCH + 1} of meetings")
                    break
                want = len(expected)
                assert wait_until(lambda: len(smtp.accepted) >= want, timeout=30)  # noqa: B023
            assert killed_at, "A never held a delivery lease:\n" + a.output()[-5000:]
            # what A held when it died (its leases outlive it until they expire)
            held_feeds, held_deliveries = leases_of(conn, owner_a)

            # 3. B alone: takes over, delivers everything, keeps polling every feed
            def delivered() -> bool:
                (pending,) = conn.execute(
                    "SELECT count(*) FROM deliveries WHERE status <> 'sent'"
                ).fetchone()
                return pending == 0 and len(smtp.accepted) >= len(expected)

            assert wait_until(delivered, timeout=40), b.output()
            time.sleep(max(0.0, killed_at + LEASE + 4 * INTERVAL - time.monotonic()))
            t2 = time.monotonic()
            assert b.stop() == 0
            b_log = b.output()
            held_by = conn.execute(
                "SELECT subscriber, extract(epoch FROM sent_at) FROM deliveries WHERE id = ANY(%s)",
                (held_deliveries,),
            ).fetchall()
            counts = conn.execute(
                "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM deliveries),"
                " (SELECT count(DISTINCT (event_id, subscriber, channel)) FROM deliveries)"
            ).fetchone()
        finally:
            conn.close()
            for d in (a, b):
                if d.proc and d.proc.poll() is None:
                    d.proc.kill()
                    d.proc.wait()

    # --- both up: once per interval, never twice, never at once
    steady = [h for h in farm.hits if t0 <= h.at < t1]
    per_feed = {i: [h for h in steady if h.feed == i] for i in range(FEEDS)}
    fast_gaps = [g for i in fast for g in gaps(per_feed[i])]
    polls = [len(per_feed[i]) for i in fast]
    agents = {h.agent for h in steady}
    ratios = [g / INTERVAL for g in fast_gaps]
    figures.append(
        f"both up, {STEADY:.0f}s, {len(fast)} feeds at a {INTERVAL}s interval: {len(ratios)} gaps "
        f"between successive polls of a feed, each {min(ratios):.2f}-{max(ratios):.2f} intervals"
        f" long (mean {statistics.mean(ratios):.2f}: interval + up to 10% jitter + the "
        f"{TICK}s tick), i.e. one poll per interval; polls per feed {min(polls)}-{max(polls)}; "
        f"by A {sum(h.agent == 'monitor-A' for h in steady)}, "
        f"by B {sum(h.agent == 'monitor-B' for h in steady)}"
    )
    assert agents == {"monitor-A", "monitor-B"}, f"both instances polled: {agents}"
    # A feed polled twice in one interval shows a gap near 0, a skipped interval one near 2
    # intervals; between them is the tolerance for a late tick on a loaded machine.
    assert min(fast_gaps) > TWICE * INTERVAL, f"a feed polled twice in one interval: {figures}"
    assert max(fast_gaps) < SKIPPED * INTERVAL, f"an interval skipped: {figures}"
    assert all(len(per_feed[i]) >= STEADY / (INTERVAL * 1.25) for i in fast), figures
    before_kill = [h for h in farm.hits if h.at < killed_at]
    assert all(h.overlapping == 0 for h in before_kill), "a feed fetched by both at once"
    # a slow feed A held when it died is B's again after the lease, before A's fetch would have
    # ended: that gap is the takeover (checked below), not two live instances fetching at once
    slow_gaps = [
        (g, i)
        for i in SLOW
        for side in (
            [h for h in farm.hits_of(i) if h.at < killed_at],
            [h for h in farm.hits_of(i) if h.at >= killed_at],
        )
        for g in gaps(side)
        if g
    ]
    figures.append(
        f"slow feeds ({min(SLOW.values())}-{max(SLOW.values())}s answers, {LEASE}s lease): gap"
        f" min {min(g - SLOW[i] for g, i in slow_gaps):+.2f}s beyond the answer time,"
        f" overlapping fetches {sum(h.overlapping for h in before_kill if h.feed in SLOW)}"
    )
    assert all(g >= SLOW[i] - 0.1 for g, i in slow_gaps), "a slow feed was polled again mid-fetch"

    # --- takeover after SIGKILL
    takeover = []
    for i in held_feeds:
        after = [h.at for h in farm.hits_of(i) if h.at > killed_at and h.agent == "monitor-B"]
        assert after, f"feed {i} held by A was never polled again"
        takeover.append(after[0] - killed_at)
    resumed, sends = [], []
    for subscriber, sent_at in held_by:
        # B's SMTP session for it reached the recipient (the sink logs each RCPT's arrival)
        rcpts = [at for at, to in smtp.rcpts if to.startswith(subscriber + "@") and at > killed_at]
        assert rcpts, f"delivery to {subscriber} held by A was never tried again"
        resumed.append(rcpts[0] - killed_at)
        sends.append(float(sent_at) - killed_wall)
    figures.append(
        f"A killed holding {len(held_feeds)} feeds and {len(held_deliveries)} deliveries: B "
        f"polled them after {min(takeover):.2f}-{max(takeover):.2f}s, began sending them after "
        f"{min(resumed):.2f}-{max(resumed):.2f}s, sent after {min(sends):.2f}-{max(sends):.2f}s"
        f" (lease {LEASE}s, the SMTP sink answers RCPT after {SMTP_DELAY}s)"
    )
    assert held_deliveries and held_feeds
    assert max(takeover) <= LEASE + 2.5, figures
    # a delivery waits for its lease, then for B's outbox tick, which may be busy draining
    # its own channels (one drain at a time): hence more slack than for feeds
    assert max(resumed) <= LEASE + 4.0, (figures, b_log[-5000:])
    alone = [h for h in farm.hits if killed_at + LEASE + INTERVAL <= h.at < t2]
    alone_gaps = {i: gaps([h for h in alone if h.feed == i]) for i in fast}
    worst = max(max(g) for g in alone_gaps.values() if g)
    figures.append(
        f"B alone: {sum(map(len, alone_gaps.values()))} gaps, the longest {worst / INTERVAL:.2f}"
        " intervals"
    )
    for i, after_gaps in alone_gaps.items():
        assert after_gaps and max(after_gaps) < SKIPPED * INTERVAL, (f"B skipped {i}", figures)
    assert {h.agent for h in alone} == {"monitor-B"}

    # --- each alert once; nothing lost
    received: dict[str, list[float]] = {}
    for at, msg in smtp.accepted:
        received.setdefault(str(msg["To"]).split("@")[0], []).append(at)
    dupes = {c: ts for c, ts in received.items() if len(ts) > 1}
    figures.append(
        f"meetings {len(expected)}, alerts received {len(smtp.accepted)}, duplicates "
        f"{len(dupes)}; events {counts[0]}, outbox rows {counts[1]} (unique {counts[2]})"
    )
    print("\n" + "\n".join(figures))
    assert sorted(received) == sorted(c.lower() for c in expected), "every alert arrived"
    # the documented window: accepted by the sink just before A died, before A recorded it
    assert all(min(ts) < killed_at for ts in dupes.values()), dupes
    assert len(dupes) <= len(held_deliveries)
    assert counts == (len(expected), len(expected), len(expected))
