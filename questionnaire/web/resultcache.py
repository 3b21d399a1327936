"""What the web layer makes from an evaluated Result, kept per Result: the sheet's body,
the API's JSON and the data a sent sheet stores.

``RuleSet.evaluate`` builds one Result per combination of fired rules and hands out that same
object again, read-only. The sheet's body (given the guide's address), the API's JSON and the
stored data depend on nothing else, so each is made once per Result and reused. An entry holds
its Result and is found only for that very object, so a Result that was rebuilt is never
matched to another's entry. The memory is bounded: least recently used entries go first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from flask import current_app
from markupsafe import Markup

from questionnaire.engine import RuleSet
from questionnaire.engine.result import Result
from questionnaire.web.prerender import section_bodies
from questionnaire.web.sheetview import Sheet

T = TypeVar("T")

# A drawn sheet body is ~20 KB and a JSON result ~20 KB: a few megabytes at most.
MAX_ENTRIES = 128
_EXTENSION = "questionnaire.resultcache"


class ResultMemo:
    """A bounded, thread-safe map from (Result, key) to what was made from them."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._max = max_entries
        self._entries: OrderedDict[tuple[int, Hashable], tuple[Result, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, result: Result, key: Hashable, make: Callable[[], T]) -> T:
        slot = (id(result), key)
        with self._lock:
            entry = self._entries.get(slot)
            if entry is not None and entry[0] is result:
                self._entries.move_to_end(slot)
                found: T = entry[1]
                return found
        value = make()
        with self._lock:
            self._entries[slot] = (result, value)
            self._entries.move_to_end(slot)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._entries)


def result_memo() -> ResultMemo:
    """This app's memo (an app's templates may differ from another's)."""
    memo: ResultMemo | None = current_app.extensions.get(_EXTENSION)
    if memo is None:
        memo = current_app.extensions.setdefault(_EXTENSION, ResultMemo())
    return memo


def sheet_body(rs: RuleSet, sheet: Sheet, guide_url: str, guide_link: str) -> Markup:
    """The notes, questions and guide sections of the sheet, drawn by _sheet_body.html."""

    def draw() -> Markup:
        template = current_app.jinja_env.get_template("patient/_sheet_body.html")
        drawn: Markup = template.module.sheet_body(  # type: ignore[attr-defined]
            sheet, section_bodies(rs), guide_url, guide_link
        )
        return drawn

    if current_app.jinja_env.auto_reload:
        return draw()  # templates may be edited while the app runs
    return result_memo().get(sheet.result, ("sheet", rs.sha256, guide_url, guide_link), draw)


def result_json(result: Result) -> str:
    """The Result as the API sends it."""
    return result_memo().get(result, "json", result.model_dump_json)


def result_data(result: Result) -> dict[str, Any]:
    """The Result as JSON-ready Python data. Shared by every caller: read it, never change
    it."""
    return result_memo().get(result, "data", lambda: result.model_dump(mode="json"))
