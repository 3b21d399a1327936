"""The JSON bodies of the API that are not engine models: errors and the questionnaire document.

These models are the published contract: ``questionnaire.web.openapi`` builds the OpenAPI
document from them, and the views build every body through them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from questionnaire.engine import FieldError, RuleSet
from questionnaire.engine.conditions import Condition
from questionnaire.engine.definition import Kind, Page, Question
from questionnaire.engine.result import RulesetStamp


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ErrorDetail(_Model):
    status: int = Field(ge=400, le=599, description="The HTTP status code of the response.")
    message: str = Field(description="What was wrong and what is allowed, in plain words.")


class ErrorBody(_Model):
    """Every error the API returns, except invalid answers."""

    error: ErrorDetail


class FieldProblem(_Model):
    field: str = Field(description="The answer id the problem is about.")
    message: str = Field(description="What is wrong with this answer.")
    allowed: list[str] | None = Field(
        description=(
            "What is allowed: the choices of this answer, or the question ids when the field "
            "is not a question of this form; null when no list applies."
        )
    )

    @classmethod
    def from_field_error(cls, error: FieldError) -> FieldProblem:
        allowed = None if error.allowed is None else [str(value) for value in error.allowed]
        return cls(field=error.field, message=error.message, allowed=allowed)


class AnswersErrorBody(_Model):
    """The answers were valid JSON but not a valid answer set: one entry per problem."""

    error: ErrorDetail
    errors: list[FieldProblem] = Field(min_length=1)


class FormChoice(_Model):
    id: str
    label: str
    hint: str | None


class FormQuestion(_Model):
    id: str
    kind: Kind
    label: str
    short_label: str | None = Field(
        description=(
            "What messages call the answer inside a sentence (e.g. 'how long you have had "
            "this pain'); null when the label itself is used."
        )
    )
    hint: str | None
    required: bool
    choices: list[FormChoice] = Field(
        description="The choices of one_of, any_of and yes_no questions; empty otherwise."
    )
    minimum: int | None = Field(description="The lowest answer of a number question.")
    maximum: int | None = Field(description="The highest answer of a number question.")
    unit: str | None
    max_length: int | None = Field(description="The longest answer of a short_text question.")
    enable_when: Condition | None = Field(
        description="The question is asked only when this condition holds (see rules/README.md)."
    )

    @classmethod
    def from_question(cls, question: Question) -> FormQuestion:
        return cls(
            id=question.id,
            kind=question.kind,
            label=question.label,
            short_label=question.short_label,
            hint=question.hint,
            required=question.required,
            choices=[
                FormChoice(id=choice.id, label=choice.label, hint=choice.hint)
                for choice in question.options
            ],
            minimum=question.minimum,
            maximum=question.maximum,
            unit=question.unit,
            max_length=question.text_limit if question.kind == "short_text" else None,
            enable_when=question.enable_when,
        )


class FormPage(_Model):
    id: str
    title: str
    intro: str | None
    questions: list[FormQuestion]

    @classmethod
    def from_page(cls, page: Page) -> FormPage:
        return cls(
            id=page.id,
            title=page.title,
            intro=page.intro,
            questions=[FormQuestion.from_question(question) for question in page.questions],
        )


class QuestionnaireDocument(_Model):
    """The form as data: enough for another client to ask the same questions."""

    ruleset: RulesetStamp
    pages: list[FormPage]
    answers_schema: dict[str, Any] = Field(
        description="A JSON Schema (2020-12) of the answers object POST /api/v1/evaluate takes."
    )

    @classmethod
    def from_ruleset(cls, ruleset: RuleSet) -> QuestionnaireDocument:
        return cls(
            ruleset=RulesetStamp(version=ruleset.version, sha256=ruleset.sha256),
            pages=[FormPage.from_page(page) for page in ruleset.questionnaire.pages],
            answers_schema=ruleset.answers_json_schema(),
        )
