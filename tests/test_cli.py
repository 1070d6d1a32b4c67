"""The command line on the bundled example config and on small configs of our own."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.cli import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """The bundled config with only its bundled sample feed (no network here)."""
    shutil.copytree(ROOT / "config", tmp_path / "config")
    path = tmp_path / "config" / "monitor.yaml"
    text = path.read_text()
    start = text.index("  - name: SANA English")
    end = text.index("# With no subscribers")
    path.write_text(text[:start] + "\n" + text[end:])
    return path


def test_poll_once_on_example_config_prints_alerts(example: Path, capsys) -> None:
    assert main(["--config", str(example), "poll", "--once"]) == 0
    out = capsys.readouterr().out
    assert out.count("=== ALERT:") == 2, "the sample feed has two meetings and one speech"
    assert "Jordanian Ambassador Sufyan al-Qudah" in out
    assert "Pakistan" in out
    assert main(["--config", str(example), "poll", "--once"]) == 0
    assert "=== ALERT:" not in capsys.readouterr().out, "a second pass alerts nothing"

    assert main(["--config", str(example), "events", "--format", "json"]) == 0
    events = json.loads(capsys.readouterr().out)
    assert sorted(e["meeting"]["country"] for e in events) == ["Jordan", "Pakistan"]
    assert all(e["sources"] for e in events)

    assert main(["--config", str(example), "feeds"]) == 0
    out = capsys.readouterr().out
    assert "Sample defence news  [ok]" in out and "last success: 20" in out


def test_check_config_ok_and_bad_channel(example: Path, capsys) -> None:
    assert main(["--config", str(example), "check-config"]) == 0
    assert "OK" in capsys.readouterr().out
    example.write_text(
        example.read_text() + "subscribers:\n  - name: desk\n    notify: ['nonsense://x']\n"
    )
    assert main(["--config", str(example), "check-config"]) == 2
    assert "subscriber 'desk' notify[0]" in capsys.readouterr().err


def test_config_from_environment(example: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("MONITOR_CONFIG", str(example))
    assert main(["check-config"]) == 0
    assert str(example) in capsys.readouterr().out


def test_db_upgrade(example: Path, capsys) -> None:
    assert main(["--config", str(example), "db", "upgrade"]) == 0
    assert "database at head" in capsys.readouterr().out
    assert (example.parent.parent / "var" / "monitor.db").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["run", "--help"],
        ["poll", "--help"],
        ["events", "--help"],
        ["feeds", "--help"],
        ["check-config", "--help"],
        ["db", "--help"],
        ["db", "upgrade", "--help"],
    ],
    ids=lambda a: "-".join(a),
)
def test_help_everywhere(argv: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", *argv], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and "usage: monitor" in proc.stdout


def test_entry_point_collects_garbage_again_after_start_up(example: Path) -> None:
    """The entry point turns the collector off for the imports only: a daemon that left it
    off would never free a reference cycle."""
    code = (
        "import gc, sys, weakref\n"
        "from monitor.entry import main\n"
        "rc = main(sys.argv[1:])\n"
        "class Node: pass\n"
        "a, b = Node(), Node(); a.peer, b.peer = b, a; gone = weakref.ref(a); del a, b\n"
        "junk = [[] for _ in range(10_000)]\n"  # enough new objects to set off a pass
        "print(rc, gc.isenabled(), gc.get_freeze_count() > 10_000, gone() is None)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, "--config", str(example), "check-config"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.stdout.split()[-4:] == ["0", "True", "True", "True"], proc.stderr
