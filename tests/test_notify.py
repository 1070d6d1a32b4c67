"""Notifier against real receivers on 127.0.0.1: email (aiosmtpd) and JSON webhooks."""

from __future__ import annotations

import asyncio
import io

from monitor.models import Message, SubscriberSpec, channel_id
from monitor.notify import Notifier, redacted, validate_channels
from tests.servers import body_text, free_port, serve_smtp, serve_webhook

MSG = Message("Subject <x>", "plain <text> & more", "<p>html &lt;text&gt;</p>")


def test_email_gets_html_and_webhook_gets_text() -> None:
    with serve_smtp() as smtp, serve_webhook() as hook:
        sub = SubscriberSpec("desk", (smtp.url(), hook.url))
        notifier = Notifier([sub])
        mail = asyncio.run(notifier.send("desk", channel_id(smtp.url()), MSG))
        web = asyncio.run(notifier.send("desk", channel_id(hook.url), MSG))
    assert mail.ok and web.ok
    (received,) = smtp.messages
    assert received["To"] == "desk@example.org"
    assert "html &lt;text&gt;" in body_text(received)
    (post,) = hook.posts
    assert post["title"] == "Subject <x>" and post["message"] == "plain <text> & more"


def test_refused_channel_is_retryable_failure_with_detail() -> None:
    url = f"json://127.0.0.1:{free_port()}/hook"  # nothing listens there
    notifier = Notifier([SubscriberSpec("desk", (url,))])
    result = asyncio.run(notifier.send("desk", channel_id(url), MSG))
    assert not result.ok and result.retryable and result.detail


def test_removed_channel_is_not_retried() -> None:
    result = asyncio.run(Notifier([]).send("desk", "ch-gone", MSG))
    assert not result.ok and not result.retryable


def test_console_channel_prints() -> None:
    out = io.StringIO()
    notifier = Notifier([SubscriberSpec("console", ("console://",))], console=out)
    assert asyncio.run(notifier.send("console", "console", MSG)).ok
    assert "ALERT: Subject <x>" in out.getvalue()


def test_validate_channels_and_redaction() -> None:
    subs = [SubscriberSpec("desk", ("json://127.0.0.1/x", "nonsense://what"))]
    (problem,) = validate_channels(subs)
    assert "desk" in problem and "notify[1]" in problem
    assert "hunter2" not in redacted("mailto://user:hunter2@127.0.0.1:25?to=a@example.org")
