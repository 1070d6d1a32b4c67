"""I/O: send rendered messages to a subscriber's channels with apprise.

Each channel URL gets its own Apprise object so one failing channel is retried alone and
never re-sends to the channels that already accepted; apprise paces each object to its
service's rate (``min_interval`` overrides it). ``console://`` (the default when no
subscriber is configured) writes to standard output instead.
"""

from __future__ import annotations

import asyncio
import html
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

from monitor.models import CONSOLE, DeliveryResult, Message, SubscriberSpec, channel_id
from monitor.render import slack_escape

__all__ = ["Notifier", "redacted", "slack_escape", "validate_channels"]

if TYPE_CHECKING:
    import apprise

# apprise is imported where it is used: it costs ~0.2 s of start-up that commands and
# console-only setups never need; a Notifier with channels imports it when built.

log = logging.getLogger(__name__)

SEND_TIMEOUT = 60.0


def _apprise_for(url: str, min_interval: float | None = None) -> apprise.Apprise | None:
    import apprise

    obj = apprise.Apprise()
    if not obj.add(url):
        return None
    if min_interval is not None:
        for plugin in obj:
            # seconds between two messages to this URL (apprise's name says "per sec")
            plugin.request_rate_per_sec = min_interval
    return obj


def redacted(url: str) -> str:
    """A channel URL safe for logs: apprise hides passwords and tokens."""
    if url == CONSOLE:
        return url
    import apprise

    obj = apprise.Apprise()
    if obj.add(url):
        plugin: Any = next(iter(obj))
        return str(plugin.url(privacy=True))
    return url.split(":", 1)[0] + "://…"


def validate_channels(subscribers: Sequence[SubscriberSpec]) -> list[str]:
    """Problems with channel URLs, one line each; empty when apprise accepts them all."""
    problems = []
    for sub in subscribers:
        for i, url in enumerate(sub.notify):
            if url != CONSOLE and _apprise_for(url) is None:
                problems.append(
                    f"subscriber {sub.name!r} notify[{i}]: apprise does not accept "
                    f"{url.split(':', 1)[0]}:// URL (check its form)"
                )
    return problems


class Notifier:
    """Sends one message to one channel and reports the outcome as a DeliveryResult."""

    def __init__(
        self,
        subscribers: Sequence[SubscriberSpec],
        console: TextIO | None = None,
        *,
        min_interval: float | None = None,
    ):
        self._urls: dict[tuple[str, str], str] = {
            (s.name, channel_id(u)): u for s in subscribers for u in s.notify
        }
        self._objects: dict[str, apprise.Apprise | None] = {}
        self._console = console
        self._min_interval = min_interval
        if any(url != CONSOLE for url in self._urls.values()):
            import apprise  # noqa: F401  # now, not on the event loop at the first send

    def has_channel(self, subscriber: str, channel: str) -> bool:
        return (subscriber, channel) in self._urls

    def channel_url(self, subscriber: str, channel: str) -> str | None:
        """The configured URL behind a stored channel id (None once it is removed)."""
        return self._urls.get((subscriber, channel))

    async def send(self, subscriber: str, channel: str, message: Message) -> DeliveryResult:
        url = self._urls.get((subscriber, channel))
        if url is None:
            return DeliveryResult(False, retryable=False, detail="channel no longer configured")
        return await self.send_url(url, message)

    async def send_url(self, url: str, message: Message, label: str = "ALERT") -> DeliveryResult:
        """Send to one apprise URL (or the console, headed ``=== label:``)."""
        if url == CONSOLE:
            return self._to_console(message, label)
        if url not in self._objects:
            self._objects[url] = _apprise_for(url, self._min_interval)
        obj = self._objects[url]
        if obj is None:
            return DeliveryResult(False, retryable=False, detail="apprise rejects the URL")
        import apprise

        plugin: Any = next(iter(obj))
        formats = plugin.notify_format
        preferred = formats[0] if isinstance(formats, tuple) else formats
        if preferred == apprise.NotifyFormat.HTML:
            body, fmt = message.html, apprise.NotifyFormat.HTML
        elif type(plugin).__name__ == "NotifySlack":
            body, fmt = message.slack or slack_escape(message.text), apprise.NotifyFormat.TEXT
        else:
            body, fmt = message.text, apprise.NotifyFormat.TEXT
        title = (
            html.escape(message.subject) if fmt == apprise.NotifyFormat.HTML else message.subject
        )
        capture = apprise.LogCapture(level=logging.WARNING, fmt="%(message)s")  # type: ignore[no-untyped-call]
        with capture as logs:
            try:
                ok = await asyncio.wait_for(
                    obj.async_notify(body=body, title=title, body_format=fmt), SEND_TIMEOUT
                )
            except TimeoutError:
                return DeliveryResult(False, detail=f"timed out after {SEND_TIMEOUT:.0f}s")
            except Exception as e:  # a plugin bug must not stop the outbox
                log.exception("notify plugin crashed channel=%s", redacted(url))
                return DeliveryResult(False, detail=f"{type(e).__name__}: {e}")
        if ok:
            return DeliveryResult(True)
        detail = " ".join(logs.getvalue().split())[-300:] or "channel refused the message"
        return DeliveryResult(False, detail=detail)

    def _to_console(self, message: Message, label: str) -> DeliveryResult:
        out = self._console or sys.stdout
        print(f"\n=== {label}: {message.subject}\n{message.text}\n", file=out, flush=True)
        return DeliveryResult(True)
