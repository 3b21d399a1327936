"""Template fragments that depend only on the rule set, drawn once per rule set and reused.

The markup stays in the templates' macros; this module only calls them ahead of time. A
question page then picks each choice's ticked or unticked copy instead of drawing every
choice again, and the sheet and the guide insert each section's paragraphs as they are.
Fragments are kept per app (its templates) and per rule set fingerprint; with template
auto-reload on (debug), they are drawn afresh every time so edits show at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import current_app
from markupsafe import Markup

from questionnaire.engine import RuleSet
from questionnaire.engine.definition import NONE_CHOICE

CHOICE_KINDS = ("one_of", "yes_no", "any_of")
_EXTENSION = "questionnaire.prerender"

T = TypeVar("T")


@dataclass(frozen=True)
class ChoiceHtml:
    """One choice of a question, drawn by the ``choice_item`` macro both ways."""

    id: str
    unticked: Markup
    ticked: Markup
    exclusive: bool  # "none": drawn last, after an "or", and unticks the others


def choice_items(rs: RuleSet) -> Mapping[str, tuple[ChoiceHtml, ...]]:
    """Question id -> its choices in page order, for every one_of, yes_no and any_of question."""
    return _once(rs, "choices", _draw_choices)


def section_bodies(rs: RuleSet) -> Mapping[str, Markup]:
    """Guide section id -> its body as paragraphs."""
    return _once(rs, "sections", _draw_sections)


def _once(rs: RuleSet, name: str, draw: Callable[[RuleSet], T]) -> T:
    app = current_app
    if app.jinja_env.auto_reload:
        return draw(rs)
    drawn: dict[tuple[str, str], Any] = app.extensions.setdefault(_EXTENSION, {})
    key = (name, rs.sha256)
    if key not in drawn:
        # Two threads may both draw it the first time; either result is the same.
        drawn[key] = draw(rs)
    result: T = drawn[key]
    return result


def _draw_choices(rs: RuleSet) -> dict[str, tuple[ChoiceHtml, ...]]:
    draw = current_app.jinja_env.get_template("_form.html").module.choice_item  # type: ignore[attr-defined]
    items: dict[str, tuple[ChoiceHtml, ...]] = {}
    for question in rs.questions:
        if question.kind not in CHOICE_KINDS:
            continue
        multiple = question.kind == "any_of"
        kind = "checkbox" if multiple else "radio"
        options = list(question.options)
        # Only a checkbox list sets "none" apart; on a radio list it is one choice like any other.
        exclusive = [choice for choice in options if multiple and choice.id == NONE_CHOICE]
        regular = [choice for choice in options if not (multiple and choice.id == NONE_CHOICE)]
        ordered = [(choice, False) for choice in regular] + [(choice, True) for choice in exclusive]
        drawn = []
        for index, (choice, alone) in enumerate(ordered):
            # The first input carries the question's own id: the error summary links to it.
            input_id = question.id if index == 0 else f"{question.id}-{choice.id}"
            drawn.append(
                ChoiceHtml(
                    id=choice.id,
                    unticked=Markup(draw(question, choice, input_id, kind, False, alone)),
                    ticked=Markup(draw(question, choice, input_id, kind, True, alone)),
                    exclusive=alone,
                )
            )
        items[question.id] = tuple(drawn)
    return items


def _draw_sections(rs: RuleSet) -> dict[str, Markup]:
    draw = current_app.jinja_env.get_template("_guide.html").module.section_body  # type: ignore[attr-defined]
    return {section.id: Markup(draw(section.body)) for section in rs.guide}
