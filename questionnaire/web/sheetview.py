"""What the personalised sheet shows, built from an evaluated Result (screen, print and PDF)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from questionnaire.engine.definition import Category, Section
from questionnaire.engine.result import QuestionOut, Result, SectionOut
from questionnaire.engine.ruleset import RuleSet
from questionnaire.web.printlength import (
    NO_NOTE_LINES,
    print_plan,
    reasons_after_lists,
    section_paragraphs,
)

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
    # The result's guide sections: on screen all in full; on paper the first ones in full, as
    # far as the sheet stays within two pages, and the others only by title (printlength.py).
    printed_in_full: list[SectionOut]
    printed_as_titles: list[SectionOut]
    other_sections: list[Section]  # the rest of the guide, one click away
    made_on: str
    # The steps of the compact print layout the sheet takes, as classes of .sheet-body: none,
    # unless its notes and questions would not fit on two pages otherwise (printlength.py).
    compact: tuple[str, ...]
    # In some of those steps the reasons print after the lists rather than under each item:
    # the paragraph after the notes, and after each group of questions (None: none there).
    reasons_after_notes: str | None
    reasons_after_groups: list[str | None]

    @property
    def note_lines(self) -> range:
        return range(NOTE_LINES)

    @property
    def no_note_lines(self) -> bool:
        """On paper, no lines to write on under each question."""
        return NO_NOTE_LINES in self.compact


def build_sheet(rs: RuleSet, result: Result, today: date, guide_url: str) -> Sheet:
    """What the sheet shows; ``guide_url`` is the guide's full address, printed on paper."""
    shown = {section.id for section in result.sections}
    groups = group_questions(rs.categories, result.questions)
    others = [section for section in rs.guide if section.id not in shown]
    plan = print_plan(result, groups, len(others), guide_url, NOTE_LINES)
    after_notes, after_groups = reasons_after_lists(result, groups, plan.compact)
    return Sheet(
        result=result,
        question_groups=groups,
        printed_in_full=result.sections[: plan.in_full],
        printed_as_titles=result.sections[plan.in_full :],
        other_sections=others,
        made_on=long_date(today),
        compact=plan.compact,
        reasons_after_notes=after_notes,
        reasons_after_groups=after_groups,
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
    return section_paragraphs(body)
