"""Between the HTML form and the engine: posted fields to raw answers, and back again.

Raw answers are what the engine validates: a list of strings for ``any_of`` questions and a
string for every other kind. Blank fields are left out, so the engine reports a required
question as missing and never stores an empty answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from werkzeug.datastructures import MultiDict

from questionnaire.engine.definition import Question

FormValue = str | list[str]


def raw_answers(questions: Iterable[Question], form: MultiDict[str, str]) -> dict[str, FormValue]:
    """The page's posted answers, exactly as typed (other posted keys are ignored)."""
    raw: dict[str, FormValue] = {}
    for question in questions:
        if question.kind == "any_of":
            ticked = [value for value in form.getlist(question.id) if value != ""]
            if ticked:
                raw[question.id] = ticked
            continue
        values = form.getlist(question.id)
        if len(values) > 1:
            # More than one value for a single answer is never sent by the page itself;
            # passing them on lets the engine name the field and what it allows.
            raw[question.id] = values
        elif values and values[0].strip():
            raw[question.id] = values[0]
    return raw


def posted_values(questions: Iterable[Question], form: MultiDict[str, str]) -> dict[str, FormValue]:
    """What the patient sent, to show again beside the errors: nothing typed is lost."""
    values: dict[str, FormValue] = {}
    for question in questions:
        if question.kind == "any_of":
            values[question.id] = form.getlist(question.id)
        else:
            values[question.id] = form.get(question.id, "")
    return values


def form_values(questions: Iterable[Question], answers: Mapping[str, Any]) -> dict[str, FormValue]:
    """Saved (cleaned) answers as the strings the form fields show."""
    values: dict[str, FormValue] = {}
    for question in questions:
        if question.id not in answers:
            continue
        value = answers[question.id]
        if question.kind == "any_of":
            values[question.id] = [str(item) for item in value]
        else:
            values[question.id] = str(value)
    return values
