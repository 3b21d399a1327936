"""The answers model, derived from the questionnaire definition, and patient-friendly errors.

Values in a cleaned answer set: one_of and yes_no answers are choice ids (str), any_of answers
are lists of choice ids in definition order, numbers are int, short text is stripped str.
Unanswered optional questions are absent, never None.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
)

from questionnaire.engine.definition import NONE_CHOICE, Question

# The answer contract of PRODUCT.md: these must exist with exactly these kinds and choices.
CONTRACT: dict[str, tuple[str, tuple[str, ...]]] = {
    "pain_duration": (
        "one_of",
        ("under_6_weeks", "6_to_12_weeks", "3_to_6_months", "over_6_months"),
    ),
    "conservative_care": (
        "any_of",
        (
            "physical_therapy",
            "home_exercise",
            "pain_medicine",
            "rest_or_activity_change",
            "heat_or_cold",
            "none",
        ),
    ),
    "blood_thinners": ("one_of", ("yes", "no", "not_sure")),
    "diabetes": ("one_of", ("yes", "no", "not_sure")),
    "infection": ("one_of", ("yes", "no", "not_sure")),
    "red_flags": (
        "any_of",
        (
            "bladder_or_bowel_change",
            "saddle_numbness",
            "worsening_leg_weakness",
            "fever_or_chills",
            "recent_major_injury",
            "cancer_history",
            "unexplained_weight_loss",
            "none",
        ),
    ),
}


@dataclass(frozen=True)
class FieldError:
    """One problem with one answer: the field, a message for the patient, the allowed values."""

    field: str
    message: str
    allowed: list[str] | None = None

    def as_line(self) -> str:
        allowed = f" (allowed: {', '.join(self.allowed)})" if self.allowed else ""
        return f"{self.field}: {self.message}{allowed}"


class AnswersError(ValueError):
    """The answers are not valid; ``errors`` holds one FieldError per problem."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(error.as_line() for error in errors))
        self.errors = errors


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


# A number typed as text: the digits 0 to 9, with an optional sign (spaces around it are
# stripped). Lax int parsing would also take "1_0" as 10, "5.0" as 5 and the Arabic-Indic
# digit five (U+0665) as 5.
WHOLE_NUMBER = re.compile(r"[-+]?[0-9]+")


def _whole_number(value: Any) -> Any:
    # Lax int parsing would take True as 1; a yes/no is never a number here.
    if isinstance(value, bool):
        raise ValueError("not a number")
    if isinstance(value, str):
        text = value.strip()
        if text and not WHOLE_NUMBER.fullmatch(text):
            # str.isdigit is true for the digits of every script: name the ones allowed.
            raise ValueError("not digits" if any(c.isdigit() for c in text) else "not a number")
    return value


# Unicode's control characters (category Cc: U+0000-U+001F and U+007F-U+009F), but for the
# newline and the tab a patient may type. One regex search instead of a look-up per character.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _printable(value: str | None) -> str | None:
    if value is not None and CONTROL_CHARACTERS.search(value):
        raise ValueError("control characters")
    return value


def _single_to_list(value: Any) -> Any:
    if isinstance(value, str):
        return [value] if value.strip() else []
    return value


def _any_of_checker(order: tuple[str, ...]) -> Callable[[list[str]], list[str]]:
    def check(values: list[str]) -> list[str]:
        if len(set(values)) != len(values):
            raise ValueError("duplicate")
        if NONE_CHOICE in values and len(values) > 1:
            raise ValueError("none_not_alone")
        return sorted(values, key=order.index)

    return check


def _any_of_schema(question: Question) -> dict[str, Any]:
    """What the after-validator checks, said in JSON Schema too, so that clients (and
    generators of test data) know it: each choice at most once, and "none" only on its own."""
    schema: dict[str, Any] = {"uniqueItems": True}
    if NONE_CHOICE in question.choice_ids:
        schema["anyOf"] = [{"not": {"contains": {"const": NONE_CHOICE}}}, {"maxItems": 1}]
    return schema


def field_type(question: Question) -> Any:
    """The pydantic type of one answer."""
    choice: Any = Literal[question.choice_ids]
    if question.kind in ("one_of", "yes_no"):
        return choice
    if question.kind == "any_of":
        return Annotated[
            list[choice],
            BeforeValidator(_single_to_list),
            Field(min_length=1, json_schema_extra=_any_of_schema(question)),
            AfterValidator(_any_of_checker(question.choice_ids)),
        ]
    if question.kind == "number":
        return Annotated[int, Field(ge=question.minimum, le=question.maximum)]
    return Annotated[str, Field(max_length=question.text_limit), AfterValidator(_printable)]


def _before(question: Question) -> tuple[BeforeValidator, ...]:
    # Applied outside ``| None``: inside it, a blank answer to an optional question would be
    # turned into None and then refused by the number or text branch of the union.
    if question.kind == "number":
        return (BeforeValidator(_blank_to_none), BeforeValidator(_whole_number))
    if question.kind == "short_text":
        return (BeforeValidator(_blank_to_none),)
    return ()


def build_model(
    name: str, questions: Iterable[Question], required: Callable[[Question], bool]
) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for question in questions:
        kind = field_type(question)
        if not required(question):
            kind = kind | None
        before = _before(question)
        if before:
            kind = Annotated[(kind, *before)]
        fields[question.id] = (kind, ...) if required(question) else (kind, None)
    model: type[BaseModel] = create_model(name, __config__=ConfigDict(extra="forbid"), **fields)
    return model


def _sentence(text: str) -> str:
    """``text`` at the start of a sentence: its first letter in upper case."""
    return text[:1].upper() + text[1:]


# Every message names its question (Question.answer_name or Question.topic): the error summary
# lists the messages of a whole page, away from their fields, and the API returns them alone.
def required_message(question: Question) -> str:
    if question.error_required:
        return question.error_required
    topic = question.topic
    if question.kind == "any_of":
        if NONE_CHOICE in question.choice_ids:
            none_label = question.label_of(NONE_CHOICE)
            return f"Select at least one option for {topic}, or select '{none_label}'"
        return f"Select at least one option for {topic}"
    if question.kind in ("one_of", "yes_no"):
        return f"Select an answer for {topic}"
    if question.kind == "number":
        return (
            f"Enter {question.answer_name} as a number "
            f"from {question.minimum} to {question.maximum}"
        )
    return f"Enter {question.answer_name}"


def translate(
    error: ValidationError, questions: Mapping[str, Question], known_fields: Iterable[str]
) -> list[FieldError]:
    """Turn pydantic's errors into one patient-friendly FieldError per field."""
    result: dict[str, FieldError] = {}
    for item in error.errors():
        loc = item["loc"]
        field = str(loc[0]) if loc else "answers"
        if field in result:
            continue
        question = questions.get(field)
        if question is None:
            allowed = sorted(known_fields)
            result[field] = FieldError(field, "This is not a question of this form", allowed)
            continue
        result[field] = _field_error(question, item)
    return list(result.values())


def _field_error(question: Question, item: Any) -> FieldError:
    kind = item["type"]
    allowed = list(question.choice_ids) or None
    if kind == "missing" or (kind == "too_short" and question.kind == "any_of"):
        return FieldError(question.id, required_message(question), allowed)
    topic = question.topic
    if question.kind == "any_of":
        if kind == "value_error" and "none_not_alone" in item["msg"]:
            none_label = question.label_of(NONE_CHOICE)
            return FieldError(
                question.id,
                f"Select '{none_label}' on its own for {topic}, "
                "or untick it and select the options that apply",
                allowed,
            )
        if kind == "value_error" and "duplicate" in item["msg"]:
            return FieldError(question.id, f"Select each option only once for {topic}", allowed)
        if kind == "list_type":
            return FieldError(
                question.id, f"Give a list of the options that apply for {topic}", allowed
            )
        return FieldError(question.id, f"Select only the options listed for {topic}", allowed)
    if question.kind in ("one_of", "yes_no"):
        return FieldError(question.id, f"Select one of the options shown for {topic}", allowed)
    name = _sentence(question.answer_name)
    if question.kind == "number":
        bounds = f"from {question.minimum} to {question.maximum}"
        if kind in ("greater_than_equal", "less_than_equal"):
            return FieldError(question.id, f"{name} must be a number {bounds}")
        if kind == "value_error" and "not digits" in item["msg"]:
            return FieldError(
                question.id,
                f"{name} must be a whole number {bounds} using only the digits 0 to 9, like 5",
            )
        return FieldError(question.id, f"{name} must be a whole number {bounds}, like 5")
    if kind == "string_too_long":
        return FieldError(question.id, f"{name} must be {question.text_limit} characters or fewer")
    if kind == "value_error" and "control characters" in item["msg"]:
        return FieldError(question.id, f"Remove the special characters from {question.answer_name}")
    if kind == "string_unicode":
        # Only a program can send this (a lone surrogate, such as the JSON escape "\ud800").
        return FieldError(
            question.id,
            f"{name} holds a broken character (half of a character pair); "
            "send the text as whole Unicode characters",
        )
    return FieldError(
        question.id, f"{name} must be text, {question.text_limit} characters or fewer"
    )
