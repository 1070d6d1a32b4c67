"""Subscribers, admins and feed backfill in monitor.yaml: valid forms load, mistakes are named
with file, line and key."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.errors import ConfigError
from monitor.models import Backfill, DeliveryMode, EventKind
from tests.conftest import write

BASE = "database: sqlite:///var/monitor.db\nwatchlists: [watchlists/syria.yaml]\n"


def test_full_subscriber_admins_and_backfill(config_dir: Path) -> None:
    path = write(
        config_dir / "monitor.yaml",
        BASE
        + """\
feeds:
  - {name: Wire, url: 'http://127.0.0.1:1/f.xml', backfill: alert}
  - {name: Other, url: 'http://127.0.0.1:1/g.xml'}
admins: ['json://127.0.0.1:1/${HOOK}']
subscribers:
  - name: brief
    notify: ['json://127.0.0.1:1/brief']
    kinds: [meeting, planned]
    mode: digest
    digest_at: "30 7 * * mon"
    timezone: Asia/Damascus
    quiet_hours: "22:00-07:00"
""",
    )
    config = load_config(path, {"HOOK": "admin-hook"})
    assert [f.backfill for f in config.feeds] == [Backfill.ALERT, Backfill.RECORD]
    assert config.admins == ("json://127.0.0.1:1/admin-hook",)
    (sub,) = config.subscribers
    assert sub.kinds == (EventKind.MEETING, EventKind.PLANNED)
    assert (sub.mode, sub.digest_at, sub.timezone) == (
        DeliveryMode.DIGEST,
        "30 7 * * mon",
        "Asia/Damascus",
    )
    assert sub.quiet_hours == (time(22), time(7))


def test_defaults(config_dir: Path) -> None:
    path = write(
        config_dir / "monitor.yaml", BASE + "subscribers:\n  - {name: d, notify: ['json://x']}\n"
    )
    (sub,) = load_config(path).subscribers
    assert sub.kinds == (EventKind.MEETING, EventKind.CALL, EventKind.VISIT)
    assert (sub.mode, sub.quiet_hours, sub.timezone) == (DeliveryMode.IMMEDIATE, None, "UTC")
    assert load_config(path).admins == ()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('digest_at: "8am"', "subscribers[0].digest_at: Value error, expected HH:MM or 5 cron"),
        ("timezone: Mars/Olympus", "subscribers[0].timezone: Value error, unknown time zone"),
        ('quiet_hours: "22-7"', "subscribers[0].quiet_hours: Value error, expected quiet hours"),
        ("kinds: [meeting, lunch]", "subscribers[0].kinds[1]: Input should be"),
        ("mode: hourly", "subscribers[0].mode: Input should be 'immediate' or 'digest'"),
    ],
)
def test_mistakes_name_the_line_and_key(config_dir: Path, line: str, message: str) -> None:
    path = write(
        config_dir / "monitor.yaml",
        BASE + f"subscribers:\n  - name: d\n    notify: ['json://x']\n    {line}\n",
    )
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(f"{path}:6: {message}"), str(err.value)


def test_admin_secret_must_be_set(config_dir: Path) -> None:
    path = write(config_dir / "monitor.yaml", BASE + "admins: ['json://x/${NOPE}']\n")
    with pytest.raises(ConfigError, match=r"admins\[0\]: environment variable NOPE is not set"):
        load_config(path, {})
