"""Edge: the `monitor test-notify` and `monitor deliveries` commands (issue 4). Prints; the
work is done by notify, render and the store."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime

from monitor.config import Config
from monitor.models import DateSource, Event, EventKind, Meeting, Source, Span, SubscriberSpec
from monitor.notify import Notifier, redacted
from monitor.render import event_subject, render
from monitor.store import Store

EXIT_CONFIG = 2


def sample_event(config: Config, sub: SubscriberSpec, now: datetime) -> Event:
    """A made-up alert in the shape of a real one, for the subscriber's own filters."""
    official = next(
        (o for o in config.officials if not sub.officials or o.id in sub.officials),
        None,
    )
    name, home = (official.name, official.country) if official else ("A. Minister", "Syria")
    country = sub.countries[0] if sub.countries else "Jordan"
    evidence = f"TEST: {name} received the Ambassador of {country} (a sample alert)."
    start = evidence.index(name)
    trigger = evidence.index("received")
    whom = evidence.index(country)
    meeting = Meeting(
        official.id if official else "test",
        name,
        home,
        official.watchlist if official else "test",
        country,
        EventKind.MEETING,
        now.date(),
        DateSource.TEXT,
        evidence,
        "received",
        f"the Ambassador of {country} (test)",
        (
            Span(start, start + len(name), "official"),
            Span(trigger, trigger + len("received"), "trigger"),
            Span(whom, whom + len(country), "counterpart"),
        ),
    )
    source = Source("monitor test-notify", "Sample alert", None, now)
    return Event(0, meeting, now, (source,))


def send_test_alert(config: Config, name: str, notifier: Notifier) -> int:
    """Send a sample alert to each of a subscriber's channels; print each outcome."""
    sub = next((s for s in config.subscribers if s.name == name), None)
    if sub is None:
        known = ", ".join(s.name for s in config.subscribers) or "none configured"
        print(f"monitor: no subscriber named {name!r} (known: {known})", file=sys.stderr)
        return EXIT_CONFIG
    now = datetime.now(UTC)
    message = render(sample_event(config, sub, now))
    message = type(message)(f"[test] {message.subject}", message.text, message.html, message.slack)

    async def send_all() -> list[tuple[str, bool, str]]:
        out = []
        for url in sub.notify:
            result = await notifier.send_url(url, message)
            out.append((redacted(url), result.ok, result.detail))
        return out

    results = asyncio.run(send_all())
    for channel, ok, detail in results:
        print(f"{channel}: {'OK' if ok else 'FAILED: ' + detail}")
    return 0 if all(ok for _, ok, _ in results) else 1


def _t(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%SZ") if value else "-"


def deliveries(store: Store, notifier: Notifier, status: str | None, limit: int) -> int:
    """The newest outbox rows: status, attempts, channel (redacted), event, last error."""
    counts = store.delivery_counts()
    print(
        "deliveries: " + ", ".join(f"{s} {counts.get(s, 0)}" for s in ("pending", "sent", "failed"))
    )
    subjects: dict[int, str] = {}
    for d in store.deliveries(status, limit):
        if d.event_id not in subjects:
            event = store.event(d.event_id)
            subjects[d.event_id] = event_subject(event) if event else "(event gone)"
        url = notifier.channel_url(d.subscriber, d.channel)
        channel = redacted(url) if url else f"{d.channel} (no longer configured)"
        when = (
            f"sent {_t(d.sent_at)}"
            if d.status == "sent"
            else f"next {_t(d.next_attempt_at)}"
            if d.status == "pending"
            else "gave up"
        )
        batch = f" [{d.batch}]" if d.batch else ""
        print(
            f"#{d.id}  {d.status}{batch}  attempts={d.attempts}  {when}  {d.subscriber}  {channel}"
        )
        print(f"      event #{d.event_id}: {subjects[d.event_id]}")
        if d.last_error and d.status != "sent":
            print(f"      last error: {d.last_error}")
    return 0
