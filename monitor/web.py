"""I/O: the read-only web interface (issue 8): Starlette routes over ``queries``, Jinja2 pages.

GET only (Starlette answers 405 to anything else); no request changes state. Pages are
server-rendered with autoescaping, feed text is never trusted: links from feeds must be
http(s), and a Content-Security-Policy forbids every script. ``webserve`` runs it in the
daemon's loop; ``feeds_out`` builds the Atom, JSON and iCalendar documents.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from monitor import queries
from monitor import timeline as layout
from monitor.errors import MonitorError
from monitor.feeds_out import Links, atom_feed, events_calendar, events_json, is_web_link
from monitor.models import DateSource, EventKind
from monitor.queries import EventFilter, Order
from monitor.render import event_subject, mark_evidence
from monitor.store import Store
from monitor.webauth import Gate
from monitor.websettings import WebSettings

log = logging.getLogger(__name__)

PAGE_SIZE = 50
MAX_LIMIT = 500
ATOM_SIZE = 100
CALENDAR_SIZE = 5000  # also the most meetings one timeline draws
FILTER_KEYS = ("watchlist", "official", "country", "kind", "since", "until", "q")
KEPT_KEYS = (*FILTER_KEYS, "limit")  # what links to other pages carry on
DATE_HOW = {
    DateSource.TEXT: "stated in the text (a date, or a day such as “yesterday” counted from "
    "the publication date)",
    DateSource.PUBLISHED: "the publication date: the text gives no day",
    DateSource.UNKNOWN: "unknown: no day in the text and no publication date; listed on the "
    "day it was first seen",
}
CSS_TYPE = "text/css; charset=utf-8"


def parse_filter(params: Mapping[str, str]) -> EventFilter:
    """Query parameters → EventFilter; ValueError names the parameter that is wrong."""

    def day(key: str) -> date | None:
        raw = params.get(key, "").strip()
        try:
            return date.fromisoformat(raw) if raw else None
        except ValueError:
            raise ValueError(f"{key}: expected a date YYYY-MM-DD, got {raw!r}") from None

    kind = params.get("kind", "").strip()
    if kind and kind not in set(EventKind):
        raise ValueError(f"kind: expected one of {', '.join(EventKind)}, got {kind!r}")
    text = {k: params.get(k, "").strip() or None for k in ("watchlist", "official", "country")}
    return EventFilter(
        **text,
        kind=EventKind(kind) if kind else None,
        since=day("since"),
        until=day("until"),
        text=params.get("q", "").strip() or None,
    )


def parse_page(params: Mapping[str, str], default_limit: int) -> tuple[int, int]:
    """(page, limit) from ``?page=`` and ``?limit=``; ValueError when out of range."""
    try:
        page = int(params.get("page") or 1)
        limit = int(params.get("limit") or default_limit)
    except ValueError:
        raise ValueError("page and limit must be whole numbers") from None
    if page < 1 or not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"page must be 1 or more and limit between 1 and {MAX_LIMIT}")
    return page, limit


def is_rtl(text: str) -> bool:
    """True when the text is written in Arabic script (shown right to left)."""
    return any("\u0590" <= c <= "\u08ff" or "\ufb1d" <= c <= "\ufefc" for c in text)


class Linker:
    """URLs for one request: the current filters changed by ``**params``; keeps ``?token=``."""

    def __init__(self, request: Request) -> None:
        self.params = {k: v for k, v in request.query_params.items() if k in KEPT_KEYS and v}
        self.token = request.query_params.get("token")
        self.base = str(request.base_url).rstrip("/")

    def __call__(self, path: str, keep: bool = True, **params: object) -> str:
        merged: dict[str, object] = {**self.params} if keep else {}
        merged.update(params)
        if self.token:
            merged["token"] = self.token
        query = urlencode({k: str(v) for k, v in merged.items() if v not in (None, "")})
        return path + ("?" + query if query else "")

    def documents(self, path: str) -> Links:
        """Links for a document: absolute, and never carrying the token."""
        query = urlencode(self.params)
        return Links(self.base, f"{self.base}{path}" + ("?" + query if query else ""))


def _when(value: datetime | None) -> str:
    if value is None:
        return "never"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("monitor", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.globals.update(
        kinds=list(EventKind),
        subject=event_subject,
        is_web_link=is_web_link,
        is_rtl=is_rtl,
        date_how=DATE_HOW,
        # mark_evidence escapes the sentence before it adds its <b> marks
        evidence=lambda m: Markup(mark_evidence(m.evidence, m.spans)),
    )
    return env


def create_app(store: Store, settings: Callable[[], WebSettings]) -> Gate:
    """The ASGI app: routes behind the credentials and headers ``webauth.Gate`` enforces.
    ``settings`` is read per request, so a reload changes the token or users at once."""
    env = _environment()
    engine = store.engine

    def page(request: Request, name: str, code: int = 200, **context: Any) -> HTMLResponse:
        html = env.get_template(name).render(link=Linker(request), request=request, **context)
        return HTMLResponse(html, status_code=code)

    def filtered(request: Request) -> EventFilter:
        try:
            return parse_filter(request.query_params)
        except ValueError as e:
            raise HTTPException(400, str(e)) from e

    def paged(request: Request, default: int) -> tuple[int, int]:
        try:
            return parse_page(request.query_params, default)
        except ValueError as e:
            raise HTTPException(400, str(e)) from e

    def index(request: Request) -> Response:
        f = filtered(request)
        pg, limit = paged(request, PAGE_SIZE)
        events = queries.list_events(engine, f, limit=limit, offset=(pg - 1) * limit)
        counts = queries.count_by(engine, f)
        return page(
            request,
            "events.html",
            f=f,
            events=events,
            counts=counts,
            choices=queries.choices(engine),
            page=pg,
            more=pg * limit < counts.total,
        )

    def event(request: Request) -> Response:
        found = queries.get_event(engine, request.path_params["event_id"])
        if found is None:
            raise HTTPException(404, "no such event")
        return page(request, "event.html", e=found, m=found.meeting)

    def timeline(request: Request) -> Response:
        f = filtered(request)
        events = queries.list_events(engine, f, limit=CALENDAR_SIZE)
        return page(
            request,
            "timeline.html",
            f=f,
            t=layout.build_timeline(events),
            choices=queries.choices(engine),
            layout=layout,  # the sizes build_timeline used
        )

    def feeds(request: Request) -> Response:
        return page(request, "feeds.html", feeds=store.feeds())

    def atom(request: Request) -> Response:
        f = filtered(request)
        events = queries.list_events(engine, f, limit=ATOM_SIZE, order=Order.SEEN)
        links = Linker(request).documents("/events.atom")
        body = atom_feed(
            events, links, title="monitor: defence-ministry meetings", now=datetime.now(UTC)
        )
        return Response(body, media_type="application/atom+xml; charset=utf-8")

    def as_json(request: Request) -> Response:
        f = filtered(request)
        pg, limit = paged(request, PAGE_SIZE)
        total = queries.count_events(engine, f)
        events = queries.list_events(engine, f, limit=limit, offset=(pg - 1) * limit)
        link = Linker(request)
        more = pg * limit < total

        def at(n: int) -> str:
            return link.base + link("/events.json", page=n, limit=limit)

        body = events_json(
            events,
            link.documents("/events.json"),
            page=pg,
            limit=limit,
            total=total,
            next_url=at(pg + 1) if more else None,
            prev_url=at(pg - 1) if pg > 1 else None,
        )
        return Response(body, media_type="application/json")

    def ics(request: Request) -> Response:
        f = filtered(request)
        events = queries.list_events(engine, f, limit=CALENDAR_SIZE)
        body = events_calendar(events, Linker(request).documents("/events.ics"), name="monitor")
        return Response(body, media_type="text/calendar; charset=utf-8")

    def css(request: Request) -> Response:
        source = env.loader.get_source(env, "monitor.css")[0] if env.loader else ""
        return Response(source, media_type=CSS_TYPE)

    async def error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 405:
            return Response("read-only: GET only\n", 405, headers={"Allow": "GET, HEAD"})
        if request.url.path.endswith((".atom", ".json", ".ics")):
            return Response(f"{exc.detail}\n", exc.status_code, media_type="text/plain")
        return page(request, "error.html", exc.status_code, status=exc.status_code, exc=exc)

    async def unavailable(request: Request, exc: Exception) -> Response:
        log.error("web request failed path=%s error=%s", request.url.path, exc)
        return page(request, "error.html", 503, status=503, exc=HTTPException(503, str(exc)))

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/events/{event_id:int}", event, methods=["GET"]),
        Route("/timeline", timeline, methods=["GET"]),
        Route("/feeds", feeds, methods=["GET"]),
        Route("/events.atom", atom, methods=["GET"]),
        Route("/events.json", as_json, methods=["GET"]),
        Route("/events.ics", ics, methods=["GET"]),
        Route("/static/monitor.css", css, methods=["GET"]),
    ]
    handlers = {HTTPException: error, MonitorError: unavailable}  # StoreError: database down
    app = Starlette(routes=routes, exception_handlers=handlers)
    return Gate(app, settings)
