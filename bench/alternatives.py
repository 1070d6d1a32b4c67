"""The tools a user would pick instead of monitor, on the same local feeds: rss2email and
feed2exec, each writing every new item to a Maildir (as monitor stores every item), run twice
like the floor (all new, then all unchanged). I/O: a virtualenv per tool, made once under
the temp directory with pip; the tool as a child process; its Maildir.

    python bench/alternatives.py --tool rss2email --urls urls.txt --work DIR   # one poll

``run.py --alternatives`` measures them beside the floor and monitor. Each tool runs at its
best on 2 cores: rss2email has no parallel mode; feed2exec runs with ``--parallel`` (one
process per CPU).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Tool:
    name: str  # the runner's name in the tables
    requirement: str  # pinned: figures must not move with a new release


TOOLS = {
    "rss2email": Tool("rss2email 3.14 (maildir)", "rss2email==3.14"),
    "feed2exec": Tool("feed2exec 0.23 --parallel (maildir)", "feed2exec==0.23.0"),
}


def tool_python(tool: str) -> Path:
    """The interpreter of a virtualenv holding ``tool``, made on first use. The tools pin
    their own dependencies (feedparser, requests...); they never share monitor's."""
    req = TOOLS[tool].requirement
    dest = Path(tempfile.gettempdir()) / "monitor-bench-alt" / req.replace("==", "-")
    python = dest / "bin" / "python"
    if not python.exists():
        tmp = dest.with_suffix(".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(tmp)], check=True)
        subprocess.run([str(tmp / "bin" / "pip"), "install", "-q", req], check=True)
        tmp.rename(dest)  # the tools are run as `python -m`/`-c`: no script shebang to fix
    return python


def command(tool: str, urls: list[str], work: Path) -> list[str]:
    """Write the tool's config in ``work`` (once) and return the command of one poll."""
    python = str(tool_python(tool))
    config = work / f"{tool}.cfg"
    maildir = work / "Maildir"
    maildir.mkdir(parents=True, exist_ok=True)  # rss2email creates only the mailbox in it
    if tool == "rss2email":
        defaults = ["to = bench@example.invalid", "email-protocol = maildir"]
        defaults += [f"maildir-path = {maildir}", "maildir-mailbox = bench"]
        _write_ini(config, defaults, "feed.f", urls)
        run = "import rss2email.main; rss2email.main.run()"
        return [python, "-c", run, "-c", str(config), "-d", str(work / "r2e.json"), "run"]
    defaults = ["output = feed2exec.plugins.maildir", f"mailbox = {maildir}", "folder = bench"]
    _write_ini(config, defaults, "f", urls)
    database = str(work / "feed2exec.db")
    return [
        python,
        "-m",
        "feed2exec",
        "--config",
        str(config),
        "--database",
        database,
        "fetch",
        "--parallel",
    ]


def _write_ini(path: Path, defaults: list[str], prefix: str, urls: list[str]) -> None:
    """Both tools read INI: ``defaults`` for every feed, then a section per feed (kept if
    ``path`` exists: the second poll runs on the first one's config)."""
    if path.exists():
        return
    lines = ["[DEFAULT]", *defaults]
    for i, url in enumerate(urls):
        lines += [f"[{prefix}{i}]", f"url = {url}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def delivered(work: Path) -> int:
    """Messages in the Maildir: one per item the tool delivered."""
    root = work / "Maildir"
    return sum(1 for p in root.rglob("*") if p.is_file() and p.parent.name in ("new", "cur"))


def main() -> None:
    p = argparse.ArgumentParser(description="one poll of a feed reader users might pick")
    p.add_argument("--tool", choices=sorted(TOOLS), required=True)
    p.add_argument("--urls", type=Path, required=True, help="one feed URL per line")
    p.add_argument("--work", type=Path, required=True, help="config, state and Maildir")
    a = p.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    urls = a.urls.read_text().split()
    before = delivered(a.work)
    proc = subprocess.run(command(a.tool, urls, a.work), capture_output=True, text=True)
    sys.stderr.write(proc.stderr[-2000:])
    print(json.dumps({"rc": proc.returncode, "delivered": delivered(a.work) - before}))
    raise SystemExit(proc.returncode)


if __name__ == "__main__":
    main()
