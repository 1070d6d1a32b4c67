"""Config and watchlist validation: every mistake names file, line and key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from monitor.config import load_config, parse_duration
from monitor.errors import ConfigError
from monitor.yamlconf import load_yaml
from tests.conftest import WATCHLIST, write


def test_valid_config_loads(config_dir: Path) -> None:
    config = load_config(config_dir / "monitor.yaml")
    (official,) = config.officials
    assert official.id == "abu-qasra"
    assert official.country == "Syria"
    assert official.watchlist == "syria"
    assert config.watchlists[0].countries == ("European Union", "Pakistan", "Jordan", "Russia")
    assert config.database == f"sqlite:///{(config_dir / 'var' / 'monitor.db').resolve()}"


BAD_WATCHLISTS = [
    pytest.param(
        WATCHLIST.replace(
            "    role: Minister of Defence\n", "    role: Minister of Defence\n    rank: general\n"
        ),
        6,
        "officials[0].rank",
        "unknown key",
        id="unknown-key",
    ),
    pytest.param(
        WATCHLIST.replace("since: 2024-12-21", "since: last year"),
        8,
        "officials[0].since",
        "date",
        id="wrong-type",
    ),
    pytest.param(
        WATCHLIST.replace(
            "countries:",
            "  - id: abu-qasra\n    name: Someone Else\n    country: Syria\ncountries:",
        ),
        10,
        "officials[1].id",
        "duplicate official id",
        id="duplicate-id",
    ),
    pytest.param(
        WATCHLIST.replace("    country: Syria\n", "    country: Syria\n   titles: [x\n"),
        None,
        "",
        "YAML error",
        id="yaml-syntax",
    ),
    pytest.param(
        WATCHLIST.replace("Jordan, Russia", "Jordan, Atlantis"),
        10,
        "countries[3]",
        "unknown country",
        id="unknown-country",
    ),
    pytest.param(
        WATCHLIST + "countries: all\n",
        11,
        "",
        "duplicate key",
        id="duplicate-key",
    ),
    pytest.param(
        WATCHLIST.replace("    name: Murhaf Abu Qasra\n", ""),
        2,
        "officials[0].name",
        "required key is missing",
        id="missing-key",
    ),
    pytest.param(
        "officials: &x [1]\ncountries: *x\n",
        2,
        "",
        "aliases",
        id="yaml-alias",
    ),
    pytest.param(
        WATCHLIST.replace("until: null", "until: 2020-01-01"),
        9,
        "officials[0].until",
        "before since",
        id="term-reversed",
    ),
]


@pytest.mark.parametrize(("text", "line", "key", "message"), BAD_WATCHLISTS)
def test_bad_watchlist_names_file_line_and_key(
    config_dir: Path, text: str, line: int | None, key: str, message: str
) -> None:
    path = write(config_dir / "watchlists" / "syria.yaml", text)
    with pytest.raises(ConfigError) as info:
        load_config(config_dir / "monitor.yaml")
    err = info.value
    assert err.file == str(path)
    assert message in str(err)
    assert err.key == key
    if line is not None:
        assert err.line == line
        assert f"{path}:{line}:" in str(err)
    else:
        assert err.line is not None  # YAML errors point at where the parser gave up


def test_duplicate_official_across_watchlists(config_dir: Path) -> None:
    other = write(config_dir / "watchlists" / "other.yaml", WATCHLIST)
    write(
        config_dir / "monitor.yaml",
        "watchlists: [watchlists/syria.yaml, watchlists/other.yaml]\n",
    )
    with pytest.raises(ConfigError) as info:
        load_config(config_dir / "monitor.yaml")
    assert info.value.file == str(other)
    assert info.value.line == 2
    assert "duplicate official id 'abu-qasra'" in str(info.value)


BAD_MONITOR = [
    pytest.param(
        "watchlists: [watchlists/syria.yaml]\nfeedz: []\n",
        2,
        "feedz",
        "unknown key",
        id="unknown-top-key",
    ),
    pytest.param(
        "watchlists: [watchlists/missing.yaml]\n",
        1,
        "watchlists[0]",
        "no such file",
        id="missing-watchlist",
    ),
    pytest.param(
        "watchlists: [watchlists/syria.yaml]\nfeeds:\n  - name: a\n    url: http://x/\n"
        "    interval: soon\n",
        5,
        "feeds[0].interval",
        "duration",
        id="bad-interval",
    ),
    pytest.param(
        "watchlists: [watchlists/syria.yaml]\nfeeds:\n  - {name: a, url: 'http://x/'}\n"
        "  - {name: b, url: 'http://x/'}\n",
        4,
        "feeds[1].url",
        "twice",
        id="duplicate-feed",
    ),
    pytest.param(
        "watchlists: [watchlists/syria.yaml]\nsubscribers:\n  - name: desk\n"
        "    notify: ['json://${NO_SUCH_VAR_FOR_TEST}@h/']\n",
        4,
        "subscribers[0].notify[0]",
        "NO_SUCH_VAR_FOR_TEST is not set",
        id="missing-env",
    ),
    pytest.param(
        "watchlists: [watchlists/syria.yaml]\nsubscribers:\n  - name: desk\n"
        "    notify: ['json://h/']\n    officials: [nobody]\n",
        5,
        "subscribers[0].officials[0]",
        "no official",
        id="unknown-official-filter",
    ),
    pytest.param("watchlists: []\n", 1, "watchlists", "at least 1", id="no-watchlists"),
]


@pytest.mark.parametrize(("text", "line", "key", "message"), BAD_MONITOR)
def test_bad_monitor_yaml(config_dir: Path, text: str, line: int, key: str, message: str) -> None:
    path = write(config_dir / "monitor.yaml", text)
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert info.value.file == str(path)
    assert info.value.line == line
    assert info.value.key == key
    assert message in str(info.value)


def test_env_substitution_in_channel_urls(config_dir: Path) -> None:
    path = write(
        config_dir / "monitor.yaml",
        "watchlists: [watchlists/syria.yaml]\nsubscribers:\n  - name: desk\n"
        "    notify: ['slack://${TOKEN}/#defence']\n",
    )
    config = load_config(path, environ={"TOKEN": "T1/B2/C3"})
    assert config.subscribers[0].notify == ("slack://T1/B2/C3/#defence",)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("10m", timedelta(minutes=10), id="minutes"),
        pytest.param("90s", timedelta(seconds=90), id="seconds"),
        pytest.param("1.5h", timedelta(minutes=90), id="fraction-hours"),
        pytest.param(45, timedelta(seconds=45), id="bare-number"),
    ],
)
def test_parse_duration(value: object, expected: timedelta) -> None:
    assert parse_duration(value) == expected


@pytest.mark.parametrize(
    "value", ["0s", "-5m", "soon", True], ids=["zero", "negative", "word", "bool"]
)
def test_parse_duration_rejects(value: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)


def test_bundled_example_config_is_valid() -> None:
    root = Path(__file__).resolve().parent.parent
    config = load_config(root / "config" / "monitor.yaml", environ={})
    assert config.feeds and config.officials
    assert config.feeds[0].url.startswith("file:///")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        pytest.param("a: 1\nb:\n  c: [1, 2]\n  d: x\n", None, id="plain"),
        pytest.param("a: 1\nb:\n  c: [1, 2]\n  d: 'x&y'\n", None, id="ampersand-strict-path"),
        pytest.param("a: 1\nb:\n  c: 2\n  c: 3\n", 4, id="duplicate-key"),
        pytest.param("a: &x 1\nb: *x\n", 2, id="alias"),
    ],
)
def test_yaml_fast_and_strict_paths_agree(tmp_path: Path, text: str, line: int | None) -> None:
    """libyaml parses a file that cannot hold aliases; the strict parser everything else, and
    what either refuses is reported with its line."""
    path = tmp_path / "f.yaml"
    path.write_text(text, encoding="utf-8")
    if line is not None:
        with pytest.raises(ConfigError) as e:
            load_yaml(path)
        assert e.value.line == line
        return
    data, lines = load_yaml(path)
    assert data == yaml.safe_load(text)
    assert lines[("b", "d")] == 4, "the line of a key, found when asked"
