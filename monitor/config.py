"""Load and validate monitor.yaml and its watchlists. I/O: reads the files named.

Every problem becomes one ``ConfigError`` naming the file, the line and the key path, so an
admin can go straight to the mistake; ``monitor.yamlconf`` loads the YAML safely (no aliases,
no duplicate keys) with the line of every key.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from monitor.errors import ConfigError
from monitor.models import Backfill, FeedKind, FeedSpec, Official, SubscriberSpec, Watchlist
from monitor.subscribers import SubscriberModel, build_admins, build_subscribers
from monitor.websettings import WebModel, WebSettings, build_web
from monitor.yamlconf import Path_, key_text, line_for, load_yaml, validate

DEFAULT_CONFIG = "config/monitor.yaml"

# ---------------------------------------------------------------- schema

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def parse_duration(value: Any) -> timedelta:
    """ "10m", "90s", "1.5h", "2d" or a number of seconds → timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration like 90s, 10m, 1h")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        m = _DURATION.match(str(value))
        if not m:
            raise ValueError(f"expected a duration like 90s, 10m, 1h, got {value!r}")
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return timedelta(seconds=seconds)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def _at_least(low: timedelta) -> Callable[[timedelta | None], timedelta | None]:
    def check(value: timedelta | None) -> timedelta | None:
        if value is not None and value < low:
            raise ValueError(f"must be at least {low.total_seconds():g}s")
        return value

    return check


def _lease(value: timedelta) -> timedelta:
    if not timedelta(seconds=2) <= value <= timedelta(hours=1):
        raise ValueError("a lease must be between 2s and 1h (60s suits most)")
    return value


Lease = Annotated[timedelta, BeforeValidator(parse_duration), AfterValidator(_lease)]
NonEmpty = Annotated[str, Field(min_length=1)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class OfficialModel(_Model):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")]
    name: NonEmpty
    country: NonEmpty
    role: str = ""
    aliases: list[NonEmpty] = []
    titles: list[NonEmpty] = []
    since: date | None = None
    until: date | None = None


class WatchlistModel(_Model):
    officials: list[OfficialModel] = Field(min_length=1)
    countries: Literal["all"] | list[NonEmpty] = "all"


class FeedModel(_Model):
    name: NonEmpty
    url: NonEmpty
    interval: Duration | None = None
    lang: str | None = None
    kind: FeedKind = FeedKind.FEED
    selector: NonEmpty | None = None  # kind html
    next_page: NonEmpty | None = None  # kind html, optional: link to the older page
    query: NonEmpty | None = None  # kind search, optional: else made from officials' names
    failing_after: Duration | None = None  # default: health.failing_after
    silent_after: Duration | None = None  # expected cadence; unset: never "silent"
    backfill: Backfill = Backfill.RECORD  # first poll: record the backlog, or alert on it

    @model_validator(mode="after")
    def _kind_keys(self) -> FeedModel:
        from monitor.pages import check_selector

        if self.kind is FeedKind.HTML and not self.selector:
            raise ValueError("kind html needs a selector (CSS) for the article links")
        for key in ("selector", "next_page"):
            value = getattr(self, key)
            if value is not None and self.kind is not FeedKind.HTML:
                raise ValueError(f"{key} is only for kind html")
            if value is not None:
                check_selector(value)
        if self.query is not None and self.kind is not FeedKind.SEARCH:
            raise ValueError("query is only for kind search")
        if self.kind is FeedKind.SEARCH and "{query}" not in self.url:
            raise ValueError("a kind search url needs a {query} placeholder")
        return self


class PollModel(_Model):
    interval: Duration = timedelta(minutes=10)
    tick: Duration = timedelta(seconds=10)  # how often the daemon looks for due feeds
    timeout: Duration = timedelta(seconds=30)
    max_bytes: Annotated[int, Field(gt=0)] = 5_000_000
    concurrency: Annotated[int, Field(gt=0, le=1000)] = 20
    # issue 6: a claimed feed is this instance's until the lease ends; renewed while the poll
    # runs, so a dead instance's feeds move to another one within a lease
    lease: Lease = timedelta(seconds=60)
    # parse + match processes; None: one per usable CPU (feedparser holds the GIL)
    workers: Annotated[int, Field(gt=0, le=64)] | None = None


class DeliveryModel(_Model):
    tick: Duration = timedelta(seconds=5)  # how often the outbox is drained
    max_attempts: Annotated[int, Field(gt=0, le=100)] = 8
    retry_base: Duration = timedelta(seconds=30)
    retry_max: Duration = timedelta(hours=1)
    # least time between two messages to one channel; unset: apprise's per-service pace
    # (5.5 s for email, 1.2 s for Slack). Channels are paced apart, never one another.
    min_interval: Duration | None = None
    lease: Lease = timedelta(seconds=60)  # issue 6: as poll.lease, for claimed deliveries


class HttpModel(_Model):
    """The local /healthz and /metrics endpoint (issue 6). Off unless ``listen`` is set."""

    listen: NonEmpty | None = None  # "127.0.0.1:9464" or "[::1]:9464"
    allow_remote: bool = False  # true: may bind a non-loopback address (no auth: firewall it)

    @model_validator(mode="after")
    def _loopback(self) -> HttpModel:
        from monitor.httpd import parse_listen

        if self.listen is not None:
            parse_listen(self.listen, allow_remote=self.allow_remote)
        return self


class RetentionModel(_Model):
    """Housekeeping (issue 6): what is deleted when, and how often it runs. null: keep."""

    # items no event cites, by when they were fetched; keep longer than any feed lists an
    # entry, or a forgotten entry is stored (and matched) again
    items: Annotated[Duration | None, AfterValidator(_at_least(timedelta(days=1)))] = timedelta(
        days=90
    )
    deliveries: Duration | None = timedelta(days=30)  # sent or failed outbox rows
    every: Duration = timedelta(hours=6)  # then SQLite also gets ANALYZE, VACUUM when worth it


class FetchModel(_Model):
    """How feeds and the links in them are fetched (issue 5)."""

    allow_private_links: bool = False  # true: links in content may reach private addresses
    per_host: Annotated[int, Field(gt=0, le=100)] = 4  # requests in flight per host:port
    max_redirects: Annotated[int, Field(ge=0, le=20)] = 5
    backoff_max: Duration = timedelta(hours=6)  # failing feeds are still polled this often
    max_pages: Annotated[int, Field(gt=0, le=50)] = 5  # catch-up pages for html/telegram
    full_text: bool = True  # fetch the article when an item is too short to judge
    full_text_min_chars: Annotated[int, Field(ge=0)] = 200
    full_text_max_bytes: Annotated[int, Field(gt=0)] = 2_000_000
    full_text_per_poll: Annotated[int, Field(ge=0, le=1000)] = 20
    user_agent: NonEmpty = "monitor/0.1 (+defence-meeting watcher)"


class HealthModel(_Model):
    failing_after: Duration = timedelta(hours=6)  # per-feed default; a feed may set its own


class MonitorModel(_Model):
    database: NonEmpty = "sqlite:///var/monitor.db"
    watchlists: list[NonEmpty] = Field(min_length=1)
    feeds: list[FeedModel] = []
    subscribers: list[SubscriberModel] = []
    admins: list[NonEmpty] = []  # apprise URLs told about failed deliveries and feeds
    poll: PollModel = PollModel()
    delivery: DeliveryModel = DeliveryModel()
    fetch: FetchModel = FetchModel()
    health: HealthModel = HealthModel()
    web: WebModel | None = None  # issue 8: the read-only web interface; off unless set
    http: HttpModel = HttpModel()  # issue 6: /healthz and /metrics; off unless listen is set
    retention: RetentionModel = RetentionModel()  # issue 6: housekeeping


# ---------------------------------------------------------------- loading


@dataclass(frozen=True, slots=True)
class Config:
    path: Path
    database: str
    watchlists: tuple[Watchlist, ...]
    feeds: tuple[FeedSpec, ...]
    subscribers: tuple[SubscriberSpec, ...]
    poll: PollModel
    delivery: DeliveryModel
    fetch: FetchModel = field(default_factory=FetchModel)
    health: HealthModel = field(default_factory=HealthModel)
    admins: tuple[str, ...] = ()  # apprise URLs; empty: the console
    web: WebSettings | None = None  # issue 8
    http: HttpModel = field(default_factory=HttpModel)  # issue 6
    retention: RetentionModel = field(default_factory=RetentionModel)  # issue 6

    @property
    def officials(self) -> tuple[Official, ...]:
        return tuple(o for w in self.watchlists for o in w.officials)


def config_path(cli_value: str | None) -> Path:
    """--config wins, then $MONITOR_CONFIG, then config/monitor.yaml."""
    return Path(cli_value or os.environ.get("MONITOR_CONFIG") or DEFAULT_CONFIG)


def load_config(path: Path, environ: dict[str, str] | None = None) -> Config:
    """Read monitor.yaml and every watchlist it names; raise ConfigError on the first problem."""
    env = dict(os.environ) if environ is None else environ
    data, lines = load_yaml(path)
    model = validate(MonitorModel, data, path, lines)
    base = path.parent

    watchlists: list[Watchlist] = []
    seen_ids: dict[str, str] = {}
    for i, rel in enumerate(model.watchlists):
        wl_path = base / rel
        if not wl_path.is_file():
            raise ConfigError(
                str(path),
                f"no such file: {wl_path}",
                line=lines.get(("watchlists", i)),
                key=f"watchlists[{i}]",
            )
        watchlist = load_watchlist(wl_path)
        for j, official in enumerate(watchlist.officials):
            if official.id in seen_ids:
                _, wl_lines = load_yaml(wl_path)
                raise ConfigError(
                    str(wl_path),
                    f"duplicate official id {official.id!r} (also in {seen_ids[official.id]})",
                    line=wl_lines.get(("officials", j, "id")),
                    key=f"officials[{j}].id",
                )
            seen_ids[official.id] = str(wl_path)
        watchlists.append(watchlist)

    feeds: list[FeedSpec] = []
    seen_urls: set[str] = set()
    for i, f in enumerate(model.feeds):
        url = _resolve_url(f.url, base)
        if url in seen_urls:
            raise ConfigError(
                str(path),
                f"feed URL listed twice: {f.url}",
                line=lines.get(("feeds", i, "url")),
                key=f"feeds[{i}].url",
            )
        seen_urls.add(url)
        feeds.append(_feed_spec(f, url, model, watchlists))

    subscribers = build_subscribers(
        model.subscribers,
        path,
        lines,
        env,
        watchlists={w.name for w in watchlists},
        officials=set(seen_ids),
        place=lambda name, loc: _place(name, path, lines, loc),
    )

    return Config(
        path=path,
        database=_resolve_database(model.database, base),
        watchlists=tuple(watchlists),
        feeds=tuple(feeds),
        subscribers=subscribers,
        poll=model.poll,
        delivery=model.delivery,
        fetch=model.fetch,
        health=model.health,
        admins=build_admins(model.admins, path, lines, env),
        web=build_web(model.web, path, lines, env),
        http=model.http,
        retention=model.retention,
    )


def _feed_spec(
    f: FeedModel, url: str, model: MonitorModel, watchlists: list[Watchlist]
) -> FeedSpec:
    query = f.query
    if f.kind is FeedKind.SEARCH and query is None:
        # A news-search feed looks for any watched official by name.
        names = dict.fromkeys(o.name for w in watchlists for o in w.officials)
        query = " OR ".join(f'"{name}"' for name in names)
    return FeedSpec(
        f.name,
        url,
        f.interval or model.poll.interval,
        f.lang,
        kind=f.kind,
        selector=f.selector,
        next_page=f.next_page,
        query=query,
        failing_after=f.failing_after or model.health.failing_after,
        silent_after=f.silent_after,
        backfill=f.backfill,
    )


def load_watchlist(path: Path) -> Watchlist:
    """Read one watchlist file; names in it are resolved against the built-in gazetteer."""
    data, lines = load_yaml(path)
    model = validate(WatchlistModel, data, path, lines)
    officials = []
    seen: set[str] = set()
    for i, o in enumerate(model.officials):
        if o.id in seen:
            raise ConfigError(
                str(path),
                f"duplicate official id {o.id!r}",
                line=lines.get(("officials", i, "id")),
                key=f"officials[{i}].id",
            )
        seen.add(o.id)
        if o.since and o.until and o.until < o.since:
            raise ConfigError(
                str(path),
                "until is before since",
                line=lines.get(("officials", i, "until")),
                key=f"officials[{i}].until",
            )
        country = _place(o.country, path, lines, ("officials", i, "country"))
        officials.append(
            Official(
                id=o.id,
                name=o.name,
                country=country,
                role=o.role,
                aliases=tuple(o.aliases),
                titles=tuple(o.titles),
                since=o.since,
                until=o.until,
                watchlist=path.stem,
            )
        )
    countries = (
        None
        if model.countries == "all"
        else tuple(_place(c, path, lines, ("countries", j)) for j, c in enumerate(model.countries))
    )
    return Watchlist(name=path.stem, officials=tuple(officials), countries=countries)


def _place(name: str, path: Path, lines: Mapping[Path_, int], loc: Path_) -> str:
    from monitor.gazetteer import load_gazetteer

    place = load_gazetteer().lookup(name)
    if place is None:
        raise ConfigError(
            str(path),
            f"unknown country or organisation {name!r}",
            line=line_for(loc, lines),
            key=key_text(loc),
        )
    return place.name


def _resolve_url(url: str, base: Path) -> str:
    """Feed URLs are used as typed; ``file:relative.xml`` is relative to the config file."""
    if url.startswith("file:") and not url.startswith("file:///"):
        return (base / url.removeprefix("file:")).resolve().as_uri()
    return url


def _resolve_database(url: str, base: Path) -> str:
    """A relative SQLite path is relative to the config file, like every other path in it."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite:///:memory:":
        return prefix + str((base / url.removeprefix(prefix)).resolve())
    return url
