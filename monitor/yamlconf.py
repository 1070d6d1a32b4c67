"""YAML that admins edit, loaded safely with the line of every key, and pydantic errors
translated to the file, line and key they concern. I/O: reads the file named.

Safe means: no tags beyond the plain ones, no aliases (alias bombs), no duplicate keys
(PyYAML silently keeps the last one).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from monitor.errors import ConfigError

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


def load_yaml(path: Path) -> tuple[Any, Mapping[Path_, int]]:
    """Parse one YAML file; return the data and a map from key path to line number."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(str(path), f"cannot read: {e.strerror or e}") from e
    except UnicodeDecodeError as e:
        raise ConfigError(str(path), "not UTF-8 text") from e
    if "&" not in text and "*" not in text:
        # no anchor or alias can be written without these: libyaml may parse it (ten times
        # faster on a 10,000-feed file), and lines are found only if an error needs one
        try:
            return yaml.load(text, Loader=_FastLoader), _Lines(text, str(path))
        except yaml.YAMLError:
            pass  # the strict parse below says where
    data, lines = _strict(text, str(path))
    return data, lines


def _strict(text: str, name: str) -> tuple[Any, dict[Path_, int]]:
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
        raise ConfigError(name, f"YAML error: {e.problem or e}", line=line) from e
    except yaml.YAMLError as e:
        raise ConfigError(name, f"YAML error: {e}") from e
    finally:
        loader.dispose()
    return data, lines


class _FastLoader(yaml.CSafeLoader):
    """libyaml's safe loader, refusing duplicate keys (the text has no aliases to refuse)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        keys = [self.construct_object(k, deep=True) for k, _ in node.value]
        if len(keys) != len(set(keys)):
            raise yaml.YAMLError("duplicate key")
        return super().construct_mapping(node, deep=deep)


class _Lines(Mapping[Path_, int]):
    """Key path → line, found by the strict parse the first time an error asks."""

    def __init__(self, text: str, name: str) -> None:
        self._text, self._name = text, name
        self._lines: dict[Path_, int] | None = None

    def _get(self) -> dict[Path_, int]:
        if self._lines is None:
            self._lines = _strict(self._text, self._name)[1]
        return self._lines

    def __getitem__(self, key: Path_) -> int:
        return self._get()[key]

    def __iter__(self) -> Iterator[Path_]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


def key_text(loc: Path_) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def line_for(loc: Path_, lines: Mapping[Path_, int]) -> int | None:
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return None


M = TypeVar("M", bound=BaseModel)
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _clean_loc(loc: tuple[Any, ...], lines: Mapping[Path_, int]) -> Path_:
    """Drop the union and validator tags pydantic adds to error locations."""
    out: Path_ = ()
    for part in loc:
        if isinstance(part, int) or (*out, part) in lines or _FIELD.match(str(part)):
            out = (*out, part)
    return out


def validate(model: type[M], data: Any, path: Path, lines: Mapping[Path_, int]) -> M:
    """``model`` from ``data``, or a ConfigError naming the file, the line and the key of the
    first problem."""
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
        raise ConfigError(str(path), msg, line=line_for(loc, lines), key=key_text(loc)) from e
