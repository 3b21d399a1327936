"""YAML loading that remembers the file and line of every node.

PyYAML's parser (C when available) reads the file into events; we turn them into plain Python
data ourselves so that:

* plain scalars follow YAML 1.2's core schema: ``yes``, ``no``, ``on`` and ``off`` stay text
  (they are choice ids here, and YAML 1.1 would silently turn them into booleans);
* duplicate keys are an error instead of the last one silently winning;
* every mapping key and sequence item has its line recorded under its path, so a later
  check can say "rules.yaml, line 14";
* what a rule file never needs is refused with its line, before it can cost time or memory:
  anchors and aliases (a few lines of them can expand to gigabytes, or refer to themselves),
  tags (``!!int "5"``, ``!!python/object``), nesting deeper than ``MAX_DEPTH`` and integers
  longer than ``MAX_NUMBER_DIGITS``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

try:
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader

Path_ = tuple[str | int, ...]

# Levels of lists and mappings. The shipped rule files use 7; a condition nested 20 deep still
# fits, and every later step that walks the data stays far from Python's recursion limit.
MAX_DEPTH = 50
# Far longer than any number a rule file holds; converting a huge one would take seconds.
MAX_NUMBER_DIGITS = 32

_INT = re.compile(r"[-+]?[0-9]+\Z")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_NULL = {"", "~", "null", "Null", "NULL"}
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}
_STANDARD_TAG = "tag:yaml.org,2002:"


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


def _line(event: yaml.Event) -> int:
    assert event.start_mark is not None  # the parser marks every event
    return int(event.start_mark.line) + 1


def _shown_tag(tag: str) -> str:
    """A tag as it was written: ``!!int`` rather than ``tag:yaml.org,2002:int``."""
    if tag.startswith(_STANDARD_TAG):
        return "!!" + tag.removeprefix(_STANDARD_TAG)
    return tag


class _Builder:
    """Builds one document's data from the parser's events, one value at a time.

    ``unreadable`` is set by a mistake that leaves no data worth checking further (an alias,
    a tag, nesting too deep, a number too long), as a syntax error does.
    """

    def __init__(
        self, source: SourceFile, problems: list[Problem], events: Iterator[yaml.Event]
    ) -> None:
        self.source = source
        self.problems = problems
        self.events = events
        self.unreadable = False
        self.named: set[str] = set()  # anchors and aliases already reported, e.g. "*a"

    def refuse(self, event: yaml.Event, message: str) -> None:
        self.problems.append(Problem(self.source.name, _line(event), message))
        self.unreadable = True

    def refuse_reference(self, event: yaml.Event, name: str) -> None:
        """An anchor (``&a``) or alias (``*a``), reported once per name."""
        self.unreadable = True
        if name not in self.named:
            self.named.add(name)
            kind = "anchor" if name.startswith("&") else "alias"
            self.refuse(
                event,
                f"the {kind} '{name}' is not allowed: rule files use no anchors (&name) or "
                "aliases (*name); write each value out in full where it is used",
            )

    def build(self, event: yaml.Event, path: Path_) -> Any:
        self.source.lines.setdefault(path, _line(event))
        if isinstance(event, yaml.AliasEvent):
            self.refuse_reference(event, f"*{event.anchor}")
            return None
        assert isinstance(event, yaml.ScalarEvent | yaml.CollectionStartEvent)
        self._check_anchor_and_tag(event)
        if isinstance(event, yaml.ScalarEvent):
            return self.scalar(event)
        if len(path) >= MAX_DEPTH:
            self.refuse(
                event,
                f"nested too deeply: at most {MAX_DEPTH} levels of lists and mappings are allowed",
            )
            self.skip(event)
            return None
        if isinstance(event, yaml.SequenceStartEvent):
            return self.sequence(path)
        return self.mapping(path)

    def _check_anchor_and_tag(self, event: yaml.ScalarEvent | yaml.CollectionStartEvent) -> None:
        if event.anchor is not None:
            self.refuse_reference(event, f"&{event.anchor}")
        if event.tag is not None:
            self.refuse(
                event,
                f"the tag '{_shown_tag(event.tag)}' is not allowed: remove it and write the "
                "value as text, a number, true or false, a list or a mapping",
            )

    def sequence(self, path: Path_) -> list[Any]:
        items: list[Any] = []
        for event in self._items():
            items.append(self.build(event, (*path, len(items))))
        return items

    def mapping(self, path: Path_) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_event in self._items():
            key = self.build(key_event, (*path, "<key>"))
            value_event = next(self.events)
            line = _line(key_event)
            if not isinstance(key, str):
                self.problems.append(
                    Problem(self.source.name, line, f"keys must be text, not {key!r}")
                )
                self.skip(value_event)
                continue
            if key in result:
                self.problems.append(Problem(self.source.name, line, f"duplicate key '{key}'"))
                self.skip(value_event)
                continue
            self.source.lines[(*path, key)] = line
            result[key] = self.build(value_event, (*path, key))
        return result

    def _items(self) -> Iterator[yaml.Event]:
        """The first event of each item of the list or mapping being read."""
        for event in self.events:
            if isinstance(event, yaml.CollectionEndEvent):
                return
            yield event

    def skip(self, event: yaml.Event) -> None:
        """Read past the value that starts with ``event`` without building it."""
        depth = int(isinstance(event, yaml.CollectionStartEvent))
        while depth:
            following = next(self.events)
            if isinstance(following, yaml.CollectionStartEvent):
                depth += 1
            elif isinstance(following, yaml.CollectionEndEvent):
                depth -= 1

    def scalar(self, event: yaml.ScalarEvent) -> Any:
        value: str = event.value
        if event.style:  # quoted or block scalar: always text
            return value
        if _INT.match(value):
            digits = len(value.lstrip("+-"))
            if digits > MAX_NUMBER_DIGITS:
                self.refuse(
                    event,
                    f"a number with {digits} digits is too long: at most "
                    f"{MAX_NUMBER_DIGITS} digits are allowed",
                )
                return None
            return int(value)
        return _plain_scalar(value)


def _plain_scalar(value: str) -> Any:
    if value in _NULL:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if _FLOAT.match(value):
        return float(value)
    return value


def _read(text: str, name: str, problems: list[Problem]) -> SourceFile | None:
    """The file's only document, or None (with a Problem) when there is nothing to check."""
    events = iter(yaml.parse(text, Loader=_Loader))
    if not any(isinstance(event, yaml.DocumentStartEvent) for event in events):
        problems.append(Problem(name, 1, "file is empty"))
        return None
    source = SourceFile(name=name, data=None)
    builder = _Builder(source, problems, events)
    source.data = builder.build(next(events), ())
    for event in events:
        if isinstance(event, yaml.DocumentStartEvent):
            problems.append(
                Problem(
                    name,
                    _line(event),
                    "a second YAML document starts here, but a rule file holds only one",
                )
            )
            return None
    return None if builder.unreadable else source


def load_yaml(path: Path, name: str, problems: list[Problem]) -> SourceFile | None:
    """Parse one file; on a mistake that leaves nothing to check, record it and return None."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.append(Problem(name, None, "file is missing"))
        return None
    except (OSError, UnicodeDecodeError) as error:
        problems.append(Problem(name, None, f"cannot be read as UTF-8 text: {error}"))
        return None
    found: list[Problem] = []
    try:
        source = _read(text, name, found)
    except yaml.MarkedYAMLError as error:
        # Only the syntax error: what was read before it may be wrong because of it.
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        problems.append(Problem(name, line, f"YAML syntax error: {error.problem}"))
        return None
    except yaml.YAMLError as error:
        problems.append(Problem(name, None, f"YAML syntax error: {error}"))
        return None
    problems.extend(found)
    return source
