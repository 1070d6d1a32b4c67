"""The pure core imports no I/O library and reads no clock or environment."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PURE = [
    "models",
    "errors",
    "normalise",
    "dates",
    "evidence",
    "tokens",
    "lexicon",
    "match",
    "events",
    "render",
    "backoff",
    "parse",
    "gazetteer",
    "routing",
    "health",
    "pages",
    "inflate",
    "metrics",  # issue 6
    "probe",  # issue 6
]
FORBIDDEN_IMPORTS = {
    "httpx",
    "sqlmodel",
    "sqlalchemy",
    "apprise",
    "apscheduler",
    "monitor.store",
    "monitor.db",
    "monitor.config",
    "monitor.notify",
    "monitor.fetch",
    "os",
}
FORBIDDEN_CALLS = {"now", "utcnow", "today", "time", "getenv"}
ROOT = Path(__file__).resolve().parent.parent / "monitor"


@pytest.mark.parametrize("module", PURE)
def test_pure_module_has_no_io(module: str) -> None:
    tree = ast.parse((ROOT / f"{module}.py").read_text())
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            assert not any(name == f or name.startswith(f + ".") for f in FORBIDDEN_IMPORTS), (
                f"{module} imports {name}"
            )
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert node.func.attr not in FORBIDDEN_CALLS, f"{module} calls .{node.func.attr}()"
