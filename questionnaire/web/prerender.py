"""Template fragments that depend only on the rule set, drawn once per rule set and reused.

The markup stays in the templates' macros; this module only calls them ahead of time:

- each choice of each question, ticked and unticked (``choice_item`` in _form.html);
- the frame of each question shown without an error (``question_field``), once for each way
  it can be marked as a follow-up, with a slot where the answer goes (and the follow-ups shown
  under its choices, each put together the same way);
- the paragraphs of each guide section (``section_body`` in _guide.html).

A question without an error is then put together from those parts; one with an error is drawn
by its macro as usual. Fragments are kept per app (its templates) and per rule set
fingerprint; with template auto-reload on (debug), they are drawn afresh on every use so edits
show at once.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import current_app
from markupsafe import Markup, escape

from questionnaire.engine import RuleSet
from questionnaire.engine.definition import NONE_CHOICE, Question
from questionnaire.web.pageform import CHOICE_KINDS, PageField, Reveal

_EXTENSION = "questionnaire.prerender"
# Reveal notes are few per question, but they depend on other pages' answers: bound the frames.
_MAX_FRAMES = 1024

T = TypeVar("T")


@dataclass(frozen=True)
class ChoiceHtml:
    """One choice of a question, drawn by the ``choice_item`` macro both ways."""

    id: str
    unticked: Markup
    ticked: Markup


class PageControls:
    """The questions of one rule set, ready to be put together for a page.

    A question shown without an error is its frame (drawn by ``question_field`` once for each
    way it can be marked as a follow-up) around what the patient chose or typed: the ticked or
    unticked copy of each choice, or the escaped text of a number or text field.
    """

    def __init__(self, frame_macro: Callable[..., Markup], items: dict[str, Any]) -> None:
        self._frame_macro = frame_macro
        self.items: Mapping[str, tuple[ChoiceHtml, ...]] = items
        self._frames: dict[tuple[str, Reveal | None], tuple[Markup, Markup]] = {}
        # Stands in for the answer while a frame is drawn, then marks where it goes.
        self._slot = Markup("<!--answer-{}-->").format(secrets.token_hex(8))

    def draw(self, field: PageField, values: Mapping[str, Any]) -> Markup:
        """The question as question_field draws it with no error, its follow-ups (drawn the
        same way) each right after the choice that asks it; ``values``: the page's answers."""
        question = field.question
        value = values.get(question.id)
        head, tail = self._frame(field)
        items = self.items.get(question.id)
        if items is None:
            # As the number and text macros show a value: {{ value or '' }}.
            return head + escape(value or "") + tail
        chosen = _chosen(question, value)
        parts = [head]
        if field.follow_ups:
            after: dict[str, list[Markup]] = {}
            for follow_up in field.follow_ups:
                drawn = self.draw(follow_up, values)
                after.setdefault(follow_up.under_choice or "", []).append(drawn)
            for item in items:
                parts.append(item.ticked if item.id in chosen else item.unticked)
                parts.extend(after.get(item.id, ()))
        else:
            parts.extend(item.ticked if item.id in chosen else item.unticked for item in items)
        parts.append(tail)
        # Every part is Markup already; Markup.join would escape each of them again for nothing.
        return Markup("".join(parts))  # noqa: S704  # nosec B704

    def _frame(self, field: PageField) -> tuple[Markup, Markup]:
        key = (field.question.id, field.reveal)
        frame = self._frames.get(key)
        if frame is None:
            if field.question.id in self.items:
                slot = ChoiceHtml(id="", unticked=self._slot, ticked=self._slot)
                drawn = self._frame_macro(field, (slot,), None, None)
            else:
                drawn = self._frame_macro(field, None, self._slot, None)
            head, _, tail = drawn.partition(self._slot)
            if self._slot in tail or not tail:
                raise RuntimeError(
                    f"question_field must show the answer of {field.question.id!r} exactly once"
                )
            frame = (head, tail)
            if len(self._frames) < _MAX_FRAMES:
                self._frames[key] = frame
        return frame


def _chosen(question: Question, value: Any) -> list[Any]:
    """The ticked choice ids, as the choices macro in _form.html reads a value."""
    if question.kind != "any_of":
        return [value]
    if isinstance(value, str):
        return [value]
    return list(value or [])


def page_controls(rs: RuleSet) -> PageControls:
    return _once(rs, "controls", _draw_controls)


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


def template_macro(template: str, name: str) -> Callable[..., Markup]:
    """A macro of a template; with autoescape on (every .html template), it returns Markup."""
    macro: Callable[..., Markup] = getattr(
        current_app.jinja_env.get_template(template).module, name
    )
    return macro


def _draw_controls(rs: RuleSet) -> PageControls:
    draw = template_macro("_form.html", "choice_item")
    items: dict[str, tuple[ChoiceHtml, ...]] = {}
    for question in rs.questions:
        if question.kind not in CHOICE_KINDS:
            continue
        multiple = question.kind == "any_of"
        kind = "checkbox" if multiple else "radio"
        # On a checkbox list "none" is set apart, last; on a radio list it is like any other.
        alone = [choice for choice in question.options if multiple and choice.id == NONE_CHOICE]
        others = [choice for choice in question.options if choice not in alone]
        drawn = []
        for index, choice in enumerate(others + alone):
            # The first input carries the question's own id: the error summary links to it.
            input_id = question.id if index == 0 else f"{question.id}-{choice.id}"
            exclusive = choice in alone
            drawn.append(
                ChoiceHtml(
                    id=choice.id,
                    unticked=draw(question, choice, input_id, kind, False, exclusive),
                    ticked=draw(question, choice, input_id, kind, True, exclusive),
                )
            )
        items[question.id] = tuple(drawn)
    return PageControls(template_macro("_form.html", "question_field"), items)


def _draw_sections(rs: RuleSet) -> dict[str, Markup]:
    draw = template_macro("_guide.html", "section_body")
    return {section.id: draw(section.body) for section in rs.guide}
