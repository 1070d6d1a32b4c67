"""Load: the ``web`` section of monitor.yaml → WebSettings. No I/O beyond the environment given.

The web interface is off unless ``web.listen`` is set. Bound to anything but a loopback
address it must ask for credentials (a bearer ``token`` or basic-auth ``users``); otherwise
the config is refused, so a typo never publishes the event log to the network.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from monitor.errors import ConfigError
from monitor.subscribers import substitute
from monitor.yamlconf import Path_

NonEmpty = Annotated[str, Field(min_length=1)]


class WebUserModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1, pattern=r"^[^:]+$")]
    password: NonEmpty  # ${NAME} is taken from the environment


class WebModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    listen: NonEmpty  # "127.0.0.1:8787", "[::1]:8787", "0.0.0.0:8787"
    token: NonEmpty | None = None  # Authorization: Bearer <token>, or ?token=<token>
    users: list[WebUserModel] = []  # HTTP basic auth

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        parse_listen(value)
        return value


@dataclass(frozen=True, slots=True)
class WebSettings:
    host: str
    port: int
    token: str | None = None
    users: tuple[tuple[str, str], ...] = ()  # (name, password)

    @property
    def needs_auth(self) -> bool:
        return self.token is not None or bool(self.users)


def parse_listen(value: str) -> tuple[str, int]:
    """ "host:port" (IPv6 in brackets) → (host, port); ValueError names what is wrong."""
    host, sep, port = value.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected host:port, e.g. 127.0.0.1:8787, got {value!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"put an IPv6 address in brackets, e.g. [::1]:8787, got {value!r}")
    return host, int(port)


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: nobody else can connect."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name may resolve to anything


def build_web(
    model: WebModel | None, path: Path, lines: Mapping[Path_, int], env: Mapping[str, str]
) -> WebSettings | None:
    """Substitute secrets and refuse a non-loopback address without credentials."""
    if model is None:
        return None
    host, port = parse_listen(model.listen)
    token = substitute(model.token, env, path, lines, ("web", "token")) if model.token else None
    users = tuple(
        (u.name, substitute(u.password, env, path, lines, ("web", "users", i, "password")))
        for i, u in enumerate(model.users)
    )
    if token == "" or any(not pw for _, pw in users):
        key = "web.token" if token == "" else "web.users"
        raise ConfigError(
            str(path),
            "an empty secret (is its environment variable set?)",
            line=lines.get(tuple(key.split("."))),
            key=key,
        )
    settings = WebSettings(host, port, token, users)
    if not is_loopback(host) and not settings.needs_auth:
        raise ConfigError(
            str(path),
            f"listening on {host} (not loopback) needs a token or users",
            line=lines.get(("web", "listen")),
            key="web.listen",
        )
    return settings
