"""YAML loading that remembers the file and line of every node.

PyYAML builds the node tree (C parser when available); we turn it into plain Python data
ourselves so that:

* plain scalars follow YAML 1.2's core schema: ``yes``, ``no``, ``on`` and ``off`` stay text
  (they are choice ids here, and YAML 1.1 would silently turn them into booleans);
* duplicate keys are an error instead of the last one silently winning;
* every mapping key and sequence item has its line recorded under its path, so a later
  check can say "rules.yaml, line 14".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

try:
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader

Path_ = tuple[str | int, ...]

_INT = re.compile(r"[-+]?[0-9]+\Z")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_NULL = {"", "~", "null", "Null", "NULL"}
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}


@dataclass(frozen=True)
class Problem:
    """One mistake in a data file."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}, line {self.line}" if self.line else self.file
        return f"{where}: {self.message}"


@dataclass
class SourceFile:
    """A parsed YAML file: its data and the line of every path in it."""

    name: str
    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)

    def line_of(self, path: Path_) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None

    def problem(self, path: Path_, message: str) -> Problem:
        return Problem(self.name, self.line_of(path), message)


class _Builder:
    def __init__(self, source: SourceFile, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.source.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = self.build(key_node, (*path, "<key>"))
                line = key_node.start_mark.line + 1
                if not isinstance(key, str):
                    self.problems.append(
                        Problem(self.source.name, line, f"keys must be text, not {key!r}")
                    )
                    continue
                if key in result:
                    self.problems.append(Problem(self.source.name, line, f"duplicate key '{key}'"))
                    continue
                self.source.lines[(*path, key)] = line
                result[key] = self.build(value_node, (*path, key))
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        return _scalar(node)


def _scalar(node: yaml.ScalarNode) -> Any:
    value: str = node.value
    if node.style:  # quoted or block scalar: always text
        return value
    if value in _NULL:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if _INT.match(value):
        return int(value)
    if _FLOAT.match(value):
        return float(value)
    return value


def load_yaml(path: Path, name: str, problems: list[Problem]) -> SourceFile | None:
    """Parse one file; on a syntax error record a Problem and return None."""
    source = SourceFile(name=name, data=None)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.append(Problem(name, None, "file is missing"))
        return None
    except (OSError, UnicodeDecodeError) as error:
        problems.append(Problem(name, None, f"cannot be read as UTF-8 text: {error}"))
        return None
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        problems.append(Problem(name, line, f"YAML syntax error: {error.problem}"))
        return None
    except yaml.YAMLError as error:
        problems.append(Problem(name, None, f"YAML syntax error: {error}"))
        return None
    if node is None:
        problems.append(Problem(name, 1, "file is empty"))
        return None
    source.data = _Builder(source, problems).build(node, ())
    return source
