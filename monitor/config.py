"""Load and validate monitor.yaml and its watchlists. I/O: reads the files named.

Every problem becomes one ``ConfigError`` naming the file, the line and the key path, so an
admin can go straight to the mistake. YAML is loaded safely: no tags beyond the plain ones,
no aliases (alias bombs), no duplicate keys (PyYAML silently keeps the last one).
"""

from __future__ import annotations

import os
import re
import string
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from monitor.errors import ConfigError
from monitor.models import FeedSpec, Official, SubscriberSpec, Watchlist

DEFAULT_CONFIG = "config/monitor.yaml"

# ---------------------------------------------------------------- YAML with line numbers

Path_ = tuple[str | int, ...]


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases and duplicate keys and records each node's line."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.lines: dict[Path_, int] = {}

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.MarkedYAMLError(
                "while composing", None, "aliases (*name) are not allowed", event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.MarkedYAMLError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"duplicate key {key!r}",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _record_lines(node: yaml.Node, path: Path_, lines: dict[Path_, int]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = str(key_node.value)
            lines[(*path, key)] = key_node.start_mark.line + 1
            _record_lines(value_node, (*path, key), lines)
            # a key's own line is where admins look, not its value's
            lines[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _record_lines(item, (*path, i), lines)


def load_yaml(path: Path) -> tuple[Any, dict[Path_, int]]:
    """Parse one YAML file; return the data and a map from key path to line number."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(str(path), f"cannot read: {e.strerror or e}") from e
    except UnicodeDecodeError as e:
        raise ConfigError(str(path), "not UTF-8 text") from e
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        lines: dict[Path_, int] = {}
        if node is not None:
            _record_lines(node, (), lines)
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(str(path), f"YAML error: {e.problem or e}", line=line) from e
    except yaml.YAMLError as e:
        raise ConfigError(str(path), f"YAML error: {e}") from e
    finally:
        loader.dispose()
    return data, lines


def _key_text(loc: Path_) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_for(loc: Path_, lines: dict[Path_, int]) -> int | None:
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return None


M = TypeVar("M", bound=BaseModel)
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _clean_loc(loc: tuple[Any, ...], lines: dict[Path_, int]) -> Path_:
    """Drop the union and validator tags pydantic adds to error locations."""
    out: Path_ = ()
    for part in loc:
        if isinstance(part, int) or (*out, part) in lines or _FIELD.match(str(part)):
            out = (*out, part)
    return out


def _validate(model: type[M], data: Any, path: Path, lines: dict[Path_, int]) -> M:
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as e:
        err = e.errors()[0]
        loc = _clean_loc(tuple(err["loc"]), lines)
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "required key is missing"
        raise ConfigError(str(path), msg, line=_line_for(loc, lines), key=_key_text(loc)) from e


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


class SubscriberModel(_Model):
    name: NonEmpty
    notify: list[NonEmpty] = Field(min_length=1)
    watchlists: list[NonEmpty] = []
    officials: list[NonEmpty] = []
    countries: list[NonEmpty] = []


class PollModel(_Model):
    interval: Duration = timedelta(minutes=10)
    tick: Duration = timedelta(seconds=10)  # how often the daemon looks for due feeds
    timeout: Duration = timedelta(seconds=30)
    max_bytes: Annotated[int, Field(gt=0)] = 5_000_000
    concurrency: Annotated[int, Field(gt=0, le=1000)] = 20


class DeliveryModel(_Model):
    tick: Duration = timedelta(seconds=5)  # how often the outbox is drained
    max_attempts: Annotated[int, Field(gt=0, le=100)] = 8
    retry_base: Duration = timedelta(seconds=30)
    retry_max: Duration = timedelta(hours=1)


class MonitorModel(_Model):
    database: NonEmpty = "sqlite:///var/monitor.db"
    watchlists: list[NonEmpty] = Field(min_length=1)
    feeds: list[FeedModel] = []
    subscribers: list[SubscriberModel] = []
    poll: PollModel = PollModel()
    delivery: DeliveryModel = DeliveryModel()


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
    model = _validate(MonitorModel, data, path, lines)
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
        feeds.append(FeedSpec(f.name, url, f.interval or model.poll.interval, f.lang))

    subscribers: list[SubscriberSpec] = []
    names = {w.name for w in watchlists}
    for i, s in enumerate(model.subscribers):
        if any(x.name == s.name for x in subscribers):
            raise ConfigError(
                str(path),
                f"subscriber name used twice: {s.name}",
                line=lines.get(("subscribers", i, "name")),
                key=f"subscribers[{i}].name",
            )
        urls = []
        for j, raw in enumerate(s.notify):
            try:
                urls.append(string.Template(raw).substitute(env))
            except KeyError as e:
                raise ConfigError(
                    str(path),
                    f"environment variable {e.args[0]} is not set",
                    line=lines.get(("subscribers", i, "notify", j)),
                    key=f"subscribers[{i}].notify[{j}]",
                ) from None
            except ValueError as e:
                raise ConfigError(
                    str(path),
                    f"bad ${{NAME}} reference: {e}",
                    line=lines.get(("subscribers", i, "notify", j)),
                    key=f"subscribers[{i}].notify[{j}]",
                ) from None
        for j, wl in enumerate(s.watchlists):
            if wl not in names:
                raise ConfigError(
                    str(path),
                    f"no watchlist named {wl!r} (known: {', '.join(sorted(names))})",
                    line=lines.get(("subscribers", i, "watchlists", j)),
                    key=f"subscribers[{i}].watchlists[{j}]",
                )
        for j, oid in enumerate(s.officials):
            if oid not in seen_ids:
                raise ConfigError(
                    str(path),
                    f"no official with id {oid!r}",
                    line=lines.get(("subscribers", i, "officials", j)),
                    key=f"subscribers[{i}].officials[{j}]",
                )
        countries = tuple(
            _place(c, path, lines, ("subscribers", i, "countries", j))
            for j, c in enumerate(s.countries)
        )
        subscribers.append(
            SubscriberSpec(s.name, tuple(urls), tuple(s.watchlists), tuple(s.officials), countries)
        )

    return Config(
        path=path,
        database=_resolve_database(model.database, base),
        watchlists=tuple(watchlists),
        feeds=tuple(feeds),
        subscribers=tuple(subscribers),
        poll=model.poll,
        delivery=model.delivery,
    )


def load_watchlist(path: Path) -> Watchlist:
    """Read one watchlist file; names in it are resolved against the built-in gazetteer."""
    data, lines = load_yaml(path)
    model = _validate(WatchlistModel, data, path, lines)
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


def _place(name: str, path: Path, lines: dict[Path_, int], loc: Path_) -> str:
    from monitor.gazetteer import load_gazetteer

    place = load_gazetteer().lookup(name)
    if place is None:
        raise ConfigError(
            str(path),
            f"unknown country or organisation {name!r}",
            line=_line_for(loc, lines),
            key=_key_text(loc),
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
