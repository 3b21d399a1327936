"""Rows of the "Check your answers" page: the questions asked, grouped by page, in plain words."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from questionnaire.engine.definition import Page, Question
from questionnaire.engine.ruleset import RuleSet

NOT_ANSWERED = "Not answered"


@dataclass(frozen=True)
class Row:
    question: Question
    lines: list[str]


@dataclass(frozen=True)
class PageRows:
    page: Page
    rows: list[Row]


def answer_lines(question: Question, value: Any) -> list[str]:
    """An answer as the patient saw it: choice labels, the number with its unit, or the text."""
    if value is None:
        return [NOT_ANSWERED]
    if question.kind == "any_of":
        return [question.label_of(item) for item in value] or [NOT_ANSWERED]
    if question.kind in ("one_of", "yes_no"):
        return [question.label_of(value)]
    if question.kind == "number" and question.unit:
        return [f"{value} {question.unit}"]
    return [str(value)]


def check_rows(rs: RuleSet, answers: Mapping[str, Any]) -> list[PageRows]:
    asked = {question.id for question in rs.visible_questions(answers)}
    groups: list[PageRows] = []
    for page in rs.questionnaire.pages:
        rows = [
            Row(question, answer_lines(question, answers.get(question.id)))
            for question in page.questions
            if question.id in asked
        ]
        if rows:
            groups.append(PageRows(page, rows))
    return groups
