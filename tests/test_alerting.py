"""Alerts analysts trust, end to end in one process with real parts on 127.0.0.1: feed servers,
SQLite, an SMTP server (aiosmtpd) and webhook receivers. The clock is injected, so digests,
quiet hours and retries are exercised without waiting for them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiosmtpd.controller import Controller

from monitor import app
from monitor.config import load_config
from monitor.deps import Deps
from monitor.pipeline import drain_outbox, poll_due
from tests.conftest import WATCHLIST, write
from tests.servers import (
    FeedItem,
    FeedServer,
    SmtpSink,
    body_text,
    free_port,
    serve_feed,
    serve_smtp,
    serve_webhook,
)

# Five reports of one meeting: the ministry, the state agency in Arabic, a wire the next day
# ("yesterday"), a French outlet without a date in its text, and a weekly roundup.
PAKISTAN = [
    FeedItem(
        "mod-1",
        "Defence Minister receives Pakistani ambassador",
        "Syria's Defence Minister Murhaf Abu Qasra received the Ambassador of Pakistan, Air "
        "Marshal Saeed Afzal, on 25 November to discuss training and air defence.",
        datetime(2025, 11, 25, 10, tzinfo=UTC),
    ),
    FeedItem(
        "sana-ar-1",
        "وزير الدفاع يستقبل سفير باكستان",
        "استقبل وزير الدفاع السوري مرهف أبو قصرة اليوم سفير باكستان في دمشق وبحث معه التعاون "
        "العسكري بين البلدين.",
        datetime(2025, 11, 25, 12, tzinfo=UTC),
    ),
    FeedItem(
        "wire-1",
        "Syria and Pakistan discuss air force training",
        "Syrian Defence Minister Murhaf Abu Qasra met Pakistan's ambassador in Damascus "
        "yesterday, the ministry said.",
        datetime(2025, 11, 26, 8, tzinfo=UTC),
    ),
    FeedItem(
        "fr-1",
        "Syrie : le ministre de la Défense reçoit l'ambassadeur du Pakistan",
        "Le ministre syrien de la Défense, Murhaf Abu Qasra, a reçu l'ambassadeur du Pakistan "
        "à Damas pour évoquer la formation des pilotes.",
        datetime(2025, 11, 26, 9, tzinfo=UTC),
    ),
    FeedItem(
        "weekly-1",
        "Week in review: Syria's military diplomacy",
        "On 25 November, Abu Qasra met the Pakistani ambassador to discuss air force training.",
        datetime(2025, 11, 28, 7, tzinfo=UTC),
    ),
]


def envoy(country: str, adjective: str, when: datetime) -> FeedItem:
    return FeedItem(
        f"{country}-{when:%d%H%M}",
        f"Minister receives {adjective} envoy",
        f"Syria's Defence Minister Murhaf Abu Qasra received the {adjective} ambassador in "
        f"Damascus on {when.day} November.",
        when,
    )


@dataclass
class World:
    """A config, a store and deps on a clock the test moves."""

    tmp: Path
    feeds: list[FeedServer]
    now: datetime = datetime(2025, 11, 24, 12, tzinfo=UTC)
    deps: Deps | None = None
    extra: str = ""
    subscribers: str = ""
    delivery: str = "{retry_base: 10s, retry_max: 1m, min_interval: 0.01s}"
    sent: list[int] = field(default_factory=list)

    def start(self) -> Deps:
        feeds = "\n".join(
            f"  - {{name: Outlet {i}, url: '{f.url}', interval: 1m}}"
            for i, f in enumerate(self.feeds)
        )
        config = write(
            self.tmp / "monitor.yaml",
            f"database: sqlite:///var/monitor.db\nwatchlists: [watchlists/syria.yaml]\n"
            f"fetch: {{full_text: false}}\n"
            f"delivery: {self.delivery}\n"
            f"feeds:\n{feeds}\nsubscribers:\n{self.subscribers}{self.extra}",
        )
        write(self.tmp / "watchlists" / "syria.yaml", WATCHLIST)
        cfg = load_config(config)
        self.deps = app.build_deps(cfg, app.open_store(cfg))
        self.deps.clock = lambda: self.now
        return self.deps

    async def tick(self, at: datetime | None = None) -> None:
        """Move the clock, poll every feed, drain the outbox."""
        assert self.deps is not None
        self.now = at or self.now
        await asyncio.to_thread(self.deps.store.make_all_due, self.now)
        await poll_due(self.deps)
        self.sent.append((await drain_outbox(self.deps))[0])

    async def close(self) -> None:
        assert self.deps is not None
        await self.deps.http.aclose()
        self.deps.store.engine.dispose()


@contextmanager
def feeds(n: int) -> Iterator[list[FeedServer]]:
    servers: list[FeedServer] = []
    with _many(n, servers):
        yield servers


@contextmanager
def _many(n: int, out: list[FeedServer]) -> Iterator[None]:
    if n == 0:
        yield
        return
    with serve_feed(FeedServer()) as server:
        out.append(server)
        with _many(n - 1, out):
            yield


@contextmanager
def smtp_on(port: int) -> Iterator[SmtpSink]:
    sink = SmtpSink(port=port)
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


def subscriber(name: str, *urls: str, **extra: str) -> str:
    lines = [f"  - name: {name}", f"    notify: [{', '.join(repr(u) for u in urls)}]"]
    lines += [f"    {k}: {v!r}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


def run(coro: Callable[[], object]) -> None:
    asyncio.run(coro())  # type: ignore[arg-type]


def test_five_reports_in_three_languages_make_one_alert_per_subscriber(tmp_path: Path) -> None:
    with (
        feeds(5) as servers,
        serve_smtp() as smtp,
        serve_webhook() as hook_a,
        serve_webhook() as hook_b,
    ):
        world = World(tmp_path, servers)
        world.subscribers = subscriber("desk", smtp.url(), hook_a.url) + subscriber(
            "ops", smtp.url("ops@example.org"), hook_b.url
        )

        async def scenario() -> None:
            deps = world.start()
            await world.tick()  # first polls: empty feeds, nothing to record
            for server, item in zip(servers, PAKISTAN, strict=True):
                server.add(item)
                await world.tick(item.published + timedelta(minutes=5))
            (event,) = await asyncio.to_thread(deps.store.recent_events)
            assert len(event.sources) == 5, [s.title for s in event.sources]
            assert {s.feed_name for s in event.sources} == {f"Outlet {i}" for i in range(5)}
            await world.close()

        run(scenario)
    assert sorted(m["To"] for m in smtp.messages) == ["desk@example.org", "ops@example.org"]
    assert len(hook_a.posts) == 1 and len(hook_b.posts) == 1
    mail = smtp.messages[0]
    assert mail["Subject"] == (
        "Murhaf Abu Qasra (Syria MoD) met Ambassador of Pakistan, Air Marshal Saeed Afzal "
        "— 2025-11-25"
    )
    page = body_text(mail, "html")
    assert "<th align=left>Date</th><td>2025-11-25 (stated in the text)</td>" in page
    assert '<b class="trigger">received</b> the Ambassador of' in page
    assert "Outlet 0: Defence Minister receives" in page, "sent on the first report"
    assert "Date: 2025-11-25 (stated in the text)" in hook_a.posts[0]["message"]


def test_smtp_down_then_back_delivers_everything_once_in_order(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there yet
    url = f"mailto://127.0.0.1:{port}?mode=insecure&from=monitor@example.org&to=desk@example.org"
    day = datetime(2025, 11, 27, 9, tzinfo=UTC)
    items = [envoy(c, a, day + timedelta(minutes=i)) for i, (c, a) in enumerate(ORDER)]
    with feeds(1) as (server,), serve_webhook() as hook:
        world = World(tmp_path, [server], now=day - timedelta(hours=1))
        world.subscribers = subscriber("desk", url, hook.url)
        world.delivery = "{max_attempts: 100, retry_base: 10s, retry_max: 1m, min_interval: 0.01s}"

        async def down() -> None:
            deps = world.start()
            await world.tick()
            for item in items:
                server.add(item)
                await world.tick(item.published)
            for minutes in range(3, 10):  # still down: the first email keeps being retried
                await world.tick(day + timedelta(minutes=minutes))
            rows = await asyncio.to_thread(deps.store.deliveries, "pending")
            attempts = sorted(r.attempts for r in rows)
            assert attempts[:2] == [0, 0] and attempts[2] > 1, "only the head row is retried"

        run(down)
        assert [n in p["title"] for n, p in zip(ORDER_NAMES, hook.posts, strict=True)] == [
            True
        ] * 3, "the webhook never waited for the email channel"
        with smtp_on(port) as smtp:

            async def back() -> None:
                await world.tick(day + timedelta(minutes=11))
                await world.tick(day + timedelta(minutes=13))
                await world.close()

            run(back)
    subjects = [m["Subject"] for m in smtp.messages]
    assert len(subjects) == 3, subjects
    assert [name in s for name, s in zip(ORDER_NAMES, subjects, strict=True)] == [True] * 3


ORDER = [("Pakistan", "Pakistani"), ("Jordan", "Jordanian"), ("Russia", "Russian")]
ORDER_NAMES = ["Pakistan", "Jordan", "Russia"]


def test_gives_up_after_max_attempts_and_tells_the_admins(tmp_path: Path) -> None:
    dead = f"json://127.0.0.1:{free_port()}/hook"
    with feeds(1) as (server,), serve_webhook() as admin:
        world = World(tmp_path, [server])
        world.subscribers = subscriber("desk", dead)
        world.extra = f"admins: ['{admin.url}']\n"
        world.delivery = "{max_attempts: 2, retry_base: 1s, min_interval: 0.01s}"

        async def scenario() -> None:
            deps = world.start()
            await world.tick()
            item = envoy("Jordan", "Jordanian", world.now)
            server.add(item)
            for minutes in range(0, 10, 2):
                await world.tick(item.published + timedelta(minutes=minutes))
            assert await asyncio.to_thread(deps.store.delivery_counts) == {"failed": 1}
            await world.close()

        run(scenario)
    (notice,) = admin.posts
    assert notice["title"] == "Alert delivery failed for desk"
    assert "Gave up after 2 attempt(s)" in notice["message"]


def test_digest_subscriber_gets_one_message_with_the_days_events(tmp_path: Path) -> None:
    day = datetime(2025, 11, 27, 8, tzinfo=UTC)
    with feeds(1) as (server,), serve_smtp() as smtp, serve_webhook() as hook:
        world = World(tmp_path, [server], now=day)
        world.subscribers = subscriber(
            "daily", smtp.url(), hook.url, mode="digest", digest_at="18:00", timezone="Europe/Paris"
        )

        async def scenario() -> None:
            world.start()
            await world.tick()
            for i, (country, adjective) in enumerate(ORDER):
                server.add(envoy(country, adjective, day + timedelta(hours=1 + 3 * i)))
                await world.tick(day + timedelta(hours=1 + 3 * i, minutes=1))
            await world.tick(datetime(2025, 11, 27, 16, 59, tzinfo=UTC))
            assert smtp.messages == [] and hook.posts == [], "nothing before 18:00 Paris"
            await world.tick(datetime(2025, 11, 27, 17, 0, tzinfo=UTC))
            await world.tick(datetime(2025, 11, 28, 17, 0, tzinfo=UTC))
            await world.close()

        run(scenario)
    (mail,) = smtp.messages
    (post,) = hook.posts
    assert mail["Subject"] == "Digest 2025-11-27: 3 alerts" == post["title"]
    text = body_text(mail, "plain")
    for name in ORDER_NAMES:
        assert f"{name} — 2025-11-27" in text or name in text


def test_quiet_hours_hold_alerts_then_release_them_as_one_message(tmp_path: Path) -> None:
    evening = datetime(2025, 11, 27, 21, 30, tzinfo=UTC)  # 22:30 in Paris
    with feeds(1) as (server,), serve_webhook() as hook:
        world = World(tmp_path, [server], now=evening - timedelta(hours=1))
        world.subscribers = subscriber(
            "night", hook.url, quiet_hours="22:00-07:00", timezone="Europe/Paris"
        )

        async def scenario() -> None:
            world.start()
            await world.tick()
            server.add(envoy("Jordan", "Jordanian", evening))
            await world.tick(evening + timedelta(minutes=1))
            server.add(envoy("Russia", "Russian", evening + timedelta(hours=4)))
            await world.tick(evening + timedelta(hours=4, minutes=1))
            await world.tick(datetime(2025, 11, 28, 5, 59, tzinfo=UTC))
            assert hook.posts == [], "held through the night"
            await world.tick(datetime(2025, 11, 28, 6, 0, tzinfo=UTC))  # 07:00 in Paris
            assert len(hook.posts) == 1
            server.add(envoy("Pakistan", "Pakistani", datetime(2025, 11, 28, 8, tzinfo=UTC)))
            await world.tick(datetime(2025, 11, 28, 8, 1, tzinfo=UTC))
            await world.close()

        run(scenario)
    held, day = hook.posts
    assert held["title"] == "Held during quiet hours: 2 alerts"
    assert "Jordan" in held["message"] and "Russia" in held["message"]
    assert (
        day["title"].startswith("Murhaf Abu Qasra (Syria MoD) met") and "Pakistan" in day["title"]
    )


def test_new_feed_backlog_is_silent_and_a_roundup_alerts_late_once(tmp_path: Path) -> None:
    old = envoy("Jordan", "Jordanian", datetime(2025, 11, 20, 9, tzinfo=UTC))
    with feeds(2) as (first, second), serve_webhook() as hook:
        first.add(old)  # already in the feed when it is added
        world = World(tmp_path, [first, second], now=datetime(2025, 11, 27, 9, tzinfo=UTC))
        world.subscribers = subscriber("desk", hook.url)

        async def scenario() -> None:
            deps = world.start()
            await world.tick()
            assert hook.posts == [], "a new feed's backlog alerts nobody"
            second.add(
                FeedItem(
                    "roundup",
                    "Week in review",
                    "On 20 November, Abu Qasra received the Jordanian ambassador. On 26 "
                    "November, he received the Russian ambassador.",
                    world.now,
                )
            )
            await world.tick(world.now + timedelta(hours=1))
            await world.tick(world.now + timedelta(hours=2))
            events = await asyncio.to_thread(deps.store.recent_events)
            assert sorted(len(e.sources) for e in events) == [1, 2]
            await world.close()

        run(scenario)
    titles = sorted(p["title"] for p in hook.posts)
    assert len(titles) == 2, titles
    assert titles[0].endswith("— 2025-11-20 (reported late)") and "Jordanian" in titles[0]
    assert "Russian" in titles[1] and "reported late" not in titles[1]
    assert (
        "Reported late (held on 2025-11-20"
        in sorted(hook.posts, key=lambda p: p["title"])[0]["message"]
    )
