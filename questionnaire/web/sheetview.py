"""What the personalised sheet shows, built from an evaluated Result (screen, print and PDF)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from questionnaire.engine.definition import Category, Section
from questionnaire.engine.result import QuestionOut, Result
from questionnaire.engine.ruleset import RuleSet

# Lines to write notes on under each question, on paper.
NOTE_LINES = 1


@dataclass(frozen=True)
class QuestionGroup:
    category: Category
    questions: list[QuestionOut]


@dataclass(frozen=True)
class Sheet:
    result: Result
    question_groups: list[QuestionGroup]
    other_sections: list[Section]  # the rest of the guide, one click away
    made_on: str
    stamp: str

    @property
    def note_lines(self) -> range:
        return range(NOTE_LINES)


def build_sheet(rs: RuleSet, result: Result, today: date) -> Sheet:
    shown = {section.id for section in result.sections}
    return Sheet(
        result=result,
        question_groups=group_questions(rs.categories, result.questions),
        other_sections=[section for section in rs.guide if section.id not in shown],
        made_on=long_date(today),
        stamp=f"Rule set {result.ruleset.version} ({result.ruleset.sha256[:12]})",
    )


def group_questions(
    categories: list[Category], questions: list[QuestionOut]
) -> list[QuestionGroup]:
    """Questions under their category headings, categories in the order the bank lists them."""
    groups = []
    for category in categories:
        members = [question for question in questions if question.category == category.id]
        if members:
            groups.append(QuestionGroup(category, members))
    return groups


MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def long_date(day: date) -> str:
    """Like "24 November 2026": month in words (never the server's locale), no leading zero."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def paragraphs(body: str) -> list[str]:
    """Guide text is plain text with paragraphs separated by a blank line."""
    return [part.strip() for part in body.split("\n\n") if part.strip()]
