"""I/O (ASGI middleware): credentials and protective headers around the web interface.

With a ``token`` configured, a request needs ``Authorization: Bearer <token>`` or
``?token=<token>`` (feed readers and calendars can only send the URL); with ``users``,
HTTP basic auth. Either is enough when both are set. Every response forbids scripts,
framing and referrers (a referrer would carry ``?token=`` to the news sites linked to).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable, Mapping

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monitor.websettings import WebSettings

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def is_authorised(
    settings: WebSettings, headers: Mapping[str, str], query: Mapping[str, str]
) -> bool:
    """True when no credentials are configured, or the request carries valid ones."""
    if not settings.needs_auth:
        return True
    scheme, _, value = headers.get("authorization", "").partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if settings.token is not None:
        if scheme == "bearer" and _same(value, settings.token):
            return True
        if "token" in query and _same(query["token"], settings.token):
            return True
    if settings.users and scheme == "basic":
        try:
            name, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        # every user is compared, so the time taken does not tell which names exist
        ok = [_same(name, n) & _same(password, p) for n, p in settings.users]
        return bool(sep) and any(ok)
    return False


class Gate:
    """Refuse requests without credentials (401); add SECURITY_HEADERS to every response."""

    def __init__(self, app: ASGIApp, settings: Callable[[], WebSettings]) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_guarded(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(SECURITY_HEADERS)
            await send(message)

        request = Request(scope)
        settings = self.settings()
        if not is_authorised(settings, request.headers, request.query_params):
            challenge = 'Basic realm="monitor"' if settings.users else 'Bearer realm="monitor"'
            refusal = PlainTextResponse(
                "authentication required\n", 401, headers={"WWW-Authenticate": challenge}
            )
            await refusal(scope, receive, send_guarded)
            return
        await self.app(scope, receive, send_guarded)
