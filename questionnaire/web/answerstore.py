"""The patient's answers, kept in the signed session cookie and nowhere else.

Answers are stored only after their page validates, so the session never holds a
half-valid answer; a page that fails keeps the answers saved before it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import session

from questionnaire.engine.ruleset import RuleSet

ANSWERS = "answers"
# Where "Continue" on the urgent-care page leads: a page id, or CHECK for the summary.
AFTER_URGENT = "after_urgent"
CHECK = "check"
# Set by the clinic start route; kept when answers are cleared so the sheet can still be sent.
CLINIC_SLUG = "clinic_slug"


def load_answers(rs: RuleSet) -> dict[str, Any]:
    """The saved answers to questions this rule set still has (a newer rule set may drop some)."""
    stored = session.get(ANSWERS)
    if not isinstance(stored, Mapping):
        return {}
    return {key: value for key, value in stored.items() if key in rs.question_by_id}


def save_page(rs: RuleSet, page_id: str, cleaned: Mapping[str, Any]) -> dict[str, Any]:
    """Replace one page's answers and drop any answer that branching now hides."""
    own = {question.id for question in rs.page_by_id[page_id].questions}
    answers = {key: value for key, value in load_answers(rs).items() if key not in own}
    answers.update(cleaned)
    answers = rs.prune(answers)
    session[ANSWERS] = answers
    # Permanent, so closing the tab or refreshing does not lose the answers.
    session.permanent = True
    return answers


def set_after_urgent(target: str) -> None:
    session[AFTER_URGENT] = target


def after_urgent() -> str | None:
    target = session.get(AFTER_URGENT)
    return target if isinstance(target, str) else None


def clear_answers() -> None:
    for key in (ANSWERS, AFTER_URGENT):
        session.pop(key, None)


def has_answers() -> bool:
    return bool(session.get(ANSWERS))
