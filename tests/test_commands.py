"""`monitor test-notify` and `monitor deliveries` on the bundled sample feed, with a real
webhook receiver and SMTP server on 127.0.0.1."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.cli import main
from tests.servers import free_port, serve_smtp, serve_webhook

ROOT = Path(__file__).resolve().parent.parent


def example(tmp_path: Path, subscribers: str) -> Path:
    """The bundled config with only its sample feed, plus the given subscribers block."""
    shutil.copytree(ROOT / "config", tmp_path / "config")
    path = tmp_path / "config" / "monitor.yaml"
    text = path.read_text()
    start = text.index("  - name: SANA English")
    end = text.index("# With no subscribers")
    path.write_text(text[:start] + "\n" + text[end:] + subscribers)
    return path


def test_test_notify_reports_each_channel(tmp_path: Path, capsys) -> None:
    dead = f"json://127.0.0.1:{free_port()}/hook"
    with serve_webhook() as hook, serve_smtp() as smtp:
        config = example(
            tmp_path,
            f"subscribers:\n  - name: desk\n    notify: ['{hook.url}', '{smtp.url()}', '{dead}']\n",
        )
        assert main(["--config", str(config), "test-notify", "desk"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("json://127.0.0.1:") and out[0].endswith(": OK")
    assert out[1].startswith("mailto://") and out[1].endswith(": OK")
    assert "FAILED: " in out[2]
    (post,) = hook.posts
    assert post["title"].startswith("[test] Murhaf Abu Qasra (Syria MoD) met the Ambassador")
    assert smtp.messages[0]["Subject"].startswith("[test] ")
    assert main(["--config", str(config), "test-notify", "nobody"]) == 2
    assert "no subscriber named 'nobody' (known: desk)" in capsys.readouterr().err


def test_deliveries_lists_sent_and_failed_with_errors(tmp_path: Path, capsys) -> None:
    dead = f"json://127.0.0.1:{free_port()}/hook"
    with serve_webhook() as hook:
        config = example(
            tmp_path,
            f"subscribers:\n  - name: desk\n    notify: ['{hook.url}', '{dead}']\n"
            "delivery: {max_attempts: 1}\n",
        )
        assert main(["--config", str(config), "poll", "--once"]) == 0
    assert len(hook.posts) == 2, "the sample feed's two meetings (backfill: alert)"
    capsys.readouterr()
    assert main(["--config", str(config), "deliveries"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "deliveries: pending 0, sent 2, failed 2"
    assert out.count("  sent  attempts=1") == 2 and out.count("  failed  attempts=1") == 2
    assert "last error:" in out and "met" in out
    assert main(["--config", str(config), "deliveries", "--status", "failed"]) == 0
    failed = capsys.readouterr().out
    assert "  sent  " not in failed and failed.count("  failed  ") == 2


@pytest.mark.parametrize("argv", [["test-notify", "--help"], ["deliveries", "--help"]])
def test_help(argv: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", *argv], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and "usage: monitor" in proc.stdout
