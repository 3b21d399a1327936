"""Where a patient is in the form: which pages are asked, their order, what is still missing.

Pure functions of the rule set and the answers so far; the web views decide what to do.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from questionnaire.engine.definition import NONE_CHOICE, Page
from questionnaire.engine.ruleset import RuleSet

# The answer contract's red-flag question (PRODUCT.md): ticking any of its symptoms
# interrupts the form with the urgent-care page.
RED_FLAGS = "red_flags"


@dataclass(frozen=True)
class Position:
    number: int
    total: int


def is_page_asked(rs: RuleSet, page: Page, answers: Mapping[str, Any]) -> bool:
    """A page is shown when at least one of its questions is asked."""
    if page.id in _always_asked(rs):
        return True
    return any(rs.is_visible(question, answers) for question in page.questions)


@functools.lru_cache(maxsize=8)
def _always_asked(rs: RuleSet) -> frozenset[str]:
    """Pages with a question that is asked whatever the answers (no enable_when)."""
    return frozenset(
        page.id
        for page in rs.questionnaire.pages
        if any(question.enable_when is None for question in page.questions)
    )


def asked_pages(rs: RuleSet, answers: Mapping[str, Any]) -> list[Page]:
    return [page for page in rs.questionnaire.pages if is_page_asked(rs, page, answers)]


def position(rs: RuleSet, page_id: str, answers: Mapping[str, Any]) -> Position | None:
    pages = asked_pages(rs, answers)
    for number, page in enumerate(pages, start=1):
        if page.id == page_id:
            return Position(number, len(pages))
    return None


def next_page(rs: RuleSet, page_id: str, answers: Mapping[str, Any]) -> Page | None:
    """The first asked page after ``page_id``, or None after the last one."""
    pages = rs.questionnaire.pages
    index = next(i for i, page in enumerate(pages) if page.id == page_id)
    for page in pages[index + 1 :]:
        if is_page_asked(rs, page, answers):
            return page
    return None


def previous_page(rs: RuleSet, page_id: str, answers: Mapping[str, Any]) -> Page | None:
    """The last asked page before ``page_id``, or None on the first one."""
    pages = rs.questionnaire.pages
    index = next(i for i, page in enumerate(pages) if page.id == page_id)
    for page in reversed(pages[:index]):
        if is_page_asked(rs, page, answers):
            return page
    return None


def first_page(rs: RuleSet, answers: Mapping[str, Any]) -> Page | None:
    pages = asked_pages(rs, answers)
    return pages[0] if pages else None


def first_incomplete_page(rs: RuleSet, answers: Mapping[str, Any]) -> Page | None:
    """The first page with a required question that is asked but not answered yet."""
    missing = rs.missing_required(answers)
    if not missing:
        return None
    return rs.page_by_id[rs.page_of_question[missing[0].id]]


def ticked_red_flags(rs: RuleSet, answers: Mapping[str, Any]) -> list[str]:
    """The plain-words labels of the red-flag symptoms ticked (never "none")."""
    question = rs.question_by_id.get(RED_FLAGS)
    ticked = answers.get(RED_FLAGS) or []
    if question is None or not rs.is_visible(question, answers):
        return []
    return [question.label_of(value) for value in ticked if value != NONE_CHOICE]
