"""Load: the ``subscribers`` and ``admins`` sections of monitor.yaml → SubscriberSpec and URLs.

Called by ``config.load_config`` with the parsed YAML (no I/O here beyond the environment it
is handed). Every problem is a ConfigError naming file, line and key; channel URLs get their
``${NAME}`` references from the environment so secrets stay out of the YAML.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from monitor.errors import ConfigError
from monitor.models import DEFAULT_KINDS, DeliveryMode, EventKind, SubscriberSpec
from monitor.routing import parse_cron, parse_quiet, zone
from monitor.yamlconf import Path_, key_text

NonEmpty = Annotated[str, Field(min_length=1)]


class SubscriberModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: NonEmpty
    notify: list[NonEmpty] = Field(min_length=1)
    # filters: empty accepts everything; each given filter must accept
    watchlists: list[NonEmpty] = []
    officials: list[NonEmpty] = []
    countries: list[NonEmpty] = []
    kinds: list[EventKind] = Field(default=list(DEFAULT_KINDS), min_length=1)
    # when: immediate (held through quiet hours), or one digest at each digest_at
    mode: DeliveryMode = DeliveryMode.IMMEDIATE
    digest_at: NonEmpty = "08:00"  # "HH:MM" or a cron line: minute hour day month weekday
    timezone: NonEmpty = "UTC"  # IANA name, for digest_at and quiet_hours
    quiet_hours: NonEmpty | None = None  # "22:00-07:00"

    @field_validator("digest_at")
    @classmethod
    def _cron(cls, value: str) -> str:
        parse_cron(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        zone(value)
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str | None) -> str | None:
        if value is not None:
            parse_quiet(value)
        return value


def substitute(
    raw: str, env: Mapping[str, str], path: Path, lines: Mapping[Path_, int], loc: Path_
) -> str:
    """A channel URL with ``${NAME}`` taken from the environment."""
    try:
        return string.Template(raw).substitute(env)
    except KeyError as e:
        problem = f"environment variable {e.args[0]} is not set"
    except ValueError as e:
        problem = f"bad ${{NAME}} reference: {e}"
    raise ConfigError(str(path), problem, line=lines.get(loc), key=key_text(loc))


def build_subscribers(
    models: Sequence[SubscriberModel],
    path: Path,
    lines: Mapping[Path_, int],
    env: Mapping[str, str],
    *,
    watchlists: set[str],
    officials: set[str],
    place: Callable[[str, Path_], str],
) -> tuple[SubscriberSpec, ...]:
    """Check names against the watchlists and gazetteer (``place``) and substitute secrets."""
    out: list[SubscriberSpec] = []

    def fail(message: str, loc: Path_) -> ConfigError:
        return ConfigError(str(path), message, line=lines.get(loc), key=key_text(loc))

    for i, s in enumerate(models):
        at: Path_ = ("subscribers", i)
        if any(x.name == s.name for x in out):
            raise fail(f"subscriber name used twice: {s.name}", (*at, "name"))
        urls = tuple(
            substitute(raw, env, path, lines, (*at, "notify", j)) for j, raw in enumerate(s.notify)
        )
        for j, wl in enumerate(s.watchlists):
            if wl not in watchlists:
                known = ", ".join(sorted(watchlists))
                raise fail(f"no watchlist named {wl!r} (known: {known})", (*at, "watchlists", j))
        for j, oid in enumerate(s.officials):
            if oid not in officials:
                raise fail(f"no official with id {oid!r}", (*at, "officials", j))
        countries = tuple(place(c, (*at, "countries", j)) for j, c in enumerate(s.countries))
        out.append(
            SubscriberSpec(
                s.name,
                urls,
                tuple(s.watchlists),
                tuple(s.officials),
                countries,
                kinds=tuple(dict.fromkeys(s.kinds)),
                mode=s.mode,
                digest_at=s.digest_at,
                timezone=s.timezone,
                quiet_hours=parse_quiet(s.quiet_hours) if s.quiet_hours else None,
            )
        )
    return tuple(out)


def build_admins(
    raw: Sequence[str], path: Path, lines: Mapping[Path_, int], env: Mapping[str, str]
) -> tuple[str, ...]:
    """The admins' channel URLs (empty: the console)."""
    return tuple(substitute(u, env, path, lines, ("admins", j)) for j, u in enumerate(raw))
