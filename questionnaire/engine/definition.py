"""Models of the data files in rules/: questionnaire, guide, question bank, notes, rules."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
)
from pydantic_core import PydanticCustomError

from questionnaire.engine.conditions import Condition

Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Kind = Literal["one_of", "any_of", "number", "yes_no", "short_text"]
KINDS = ("one_of", "any_of", "number", "yes_no", "short_text")
NONE_CHOICE = "none"


def _exact_format(value: Any) -> Any:
    """``Literal[1]`` alone takes ``true`` and ``1.0`` for 1, as they compare equal to it."""
    if type(value) is not int:
        raise PydanticCustomError("literal_error", "Input should be 1", {"expected": "1"})
    return value


FormatNumber = Annotated[Literal[1], BeforeValidator(_exact_format)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Choice(_Model):
    id: Id
    label: Text
    hint: Text | None = None


YES_NO_CHOICES = (Choice(id="yes", label="Yes"), Choice(id="no", label="No"))


class Question(_Model):
    id: Id
    kind: Kind
    label: Text
    # What error messages call the answer, written as it reads inside a sentence (lower case
    # unless a word always takes a capital): "other allergies" gives "Other allergies must be
    # 200 characters or fewer". Without it, messages quote the label (see ``answer_name``).
    short_label: Annotated[Text, StringConstraints(max_length=60)] | None = None
    hint: Text | None = None
    required: StrictBool = True
    # Shown when a required question is left unanswered, naming what to do, e.g.
    # "Select how long you have had this pain".
    error_required: Text | None = None
    choices: list[Choice] | None = None
    minimum: StrictInt | None = None
    maximum: StrictInt | None = None
    unit: Text | None = None
    max_length: Annotated[StrictInt, Field(ge=1, le=2000)] | None = None
    enable_when: Condition | None = None

    @property
    def options(self) -> tuple[Choice, ...]:
        """The choices a patient can pick (yes/no questions have fixed ones)."""
        if self.kind == "yes_no":
            return YES_NO_CHOICES
        return tuple(self.choices or ())

    @property
    def choice_ids(self) -> tuple[str, ...]:
        return tuple(choice.id for choice in self.options)

    @property
    def text_limit(self) -> int:
        return self.max_length or 200

    @property
    def answer_name(self) -> str:
        """The answer as an error message names it inside a sentence: "Enter {name}",
        "{Name} must be ...": the short label, or the label quoted."""
        return self.short_label or f"your answer to '{self.label}'"

    @property
    def topic(self) -> str:
        """The question as an error message names it after "for": "Select an answer for
        {topic}": the short label, or the label quoted."""
        return self.short_label or f"'{self.label}'"

    def label_of(self, choice_id: Any) -> str:
        for choice in self.options:
            if choice.id == choice_id:
                return choice.label
        return str(choice_id)


class Page(_Model):
    id: Id
    title: Text
    intro: Text | None = None
    questions: list[Question] = Field(min_length=1)


class QuestionnaireFile(_Model):
    pages: list[Page] = Field(min_length=1)


class Section(_Model):
    id: Id
    title: Text
    body: Text
    seed_section: Text

    @property
    def paragraphs(self) -> list[str]:
        return [part.strip() for part in self.body.split("\n\n") if part.strip()]


class GuideFile(_Model):
    sections: list[Section] = Field(min_length=1)


class Category(_Model):
    id: Id
    title: Text


class BankQuestion(_Model):
    id: Id
    category: Id
    text: Text


class QuestionBankFile(_Model):
    categories: list[Category] = Field(min_length=1)
    questions: list[BankQuestion] = Field(min_length=1)


class Note(_Model):
    id: Id
    text: Text


class NotesFile(_Model):
    care_team_notes: list[Note] = Field(min_length=1)


class Adds(_Model):
    sections: list[Id] = Field(default_factory=list)
    questions: list[Id] = Field(default_factory=list)
    care_team_notes: list[Id] = Field(default_factory=list)
    urgent_reason: Text | None = None


class Examples(_Model):
    fires: list[dict[str, Any]] = Field(min_length=1)
    # May be empty only for a rule that always fires (``when: {all: []}``).
    does_not_fire: list[dict[str, Any]] = Field(default_factory=list)


class Rule(_Model):
    id: Id
    description: Text
    when: Condition
    add: Adds
    because: Text
    examples: Examples


class RulesFile(_Model):
    rules: list[Rule] = Field(min_length=1)


class RulesetFile(_Model):
    format: FormatNumber
    version: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z.+-]{1,32}$")]
    disclaimer: Text
    example_base: dict[str, Any]
