"""FHIR R4 resources: the questionnaire definition and one QuestionnaireResponse per submission.

Both are plain JSON-ready dicts built from the rule set; nothing here imports Flask. Every
choice answer is a Coding whose system is ``<questionnaire url>/choices/<question id>`` and
whose code is the choice id, so the definition and the responses share stable codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from questionnaire.engine.conditions import (
    All,
    Answered,
    AnyOf,
    AtLeast,
    AtMost,
    Contains,
    Equals,
    In,
    Not,
    NotEquals,
    to_json,
)
from questionnaire.engine.definition import Question

QUESTIONNAIRE_NAME = "BackInjectionPreConsultation"
QUESTIONNAIRE_TITLE = "Before your back injection appointment"
MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"
QUESTION_UNIT = "http://hl7.org/fhir/StructureDefinition/questionnaire-unit"

ITEM_TYPES = {
    "one_of": "choice",
    "any_of": "choice",
    "yes_no": "choice",
    "number": "integer",
    "short_text": "string",
}


class FhirTranslationError(ValueError):
    """A part of the questionnaire definition has no FHIR R4 equivalent."""


def choice_system(url: str, question_id: str) -> str:
    return f"{url}/choices/{question_id}"


def page_link_id(page_id: str) -> str:
    """A page's group linkId: ids cannot hold "/", so this never equals a question's id
    (a page and a question may share a name, such as ``diabetes``)."""
    return f"page/{page_id}"


# --- the Questionnaire --------------------------------------------------------------------


def build_questionnaire(ruleset: Any, url: str) -> dict[str, Any]:
    """The rule set's questionnaire as a FHIR R4 Questionnaire, one group item per page.

    Raises FhirTranslationError, naming the question, for a condition FHIR cannot express.
    """
    questions = ruleset.question_by_id
    pages = []
    for page in ruleset.questionnaire.pages:
        group: dict[str, Any] = {
            "linkId": page_link_id(page.id),
            "type": "group",
            "text": page.title,
        }
        group["item"] = [_question_item(q, url, questions) for q in page.questions]
        pages.append(group)
    return {
        "resourceType": "Questionnaire",
        "url": url,
        "version": ruleset.version,
        "name": QUESTIONNAIRE_NAME,
        "title": QUESTIONNAIRE_TITLE,
        "status": "active",
        "subjectType": ["Patient"],
        "item": pages,
    }


def _question_item(question: Question, url: str, questions: Mapping[str, Question]) -> dict:
    item: dict[str, Any] = {
        "linkId": question.id,
        "text": question.label,
        "type": ITEM_TYPES[question.kind],
        "required": question.required,
    }
    if question.kind == "any_of":
        item["repeats"] = True
    if question.enable_when is not None:
        conditions, behaviour = _enable_when(question, url, questions)
        if conditions:
            item["enableWhen"] = conditions
        if behaviour is not None and len(conditions) > 1:
            item["enableBehavior"] = behaviour
    if question.kind in {"one_of", "any_of", "yes_no"}:
        system = choice_system(url, question.id)
        item["answerOption"] = [
            {"valueCoding": {"system": system, "code": choice.id, "display": choice.label}}
            for choice in question.options
        ]
    elif question.kind == "number":
        extensions: list[dict[str, Any]] = [
            {"url": MIN_VALUE, "valueInteger": question.minimum},
            {"url": MAX_VALUE, "valueInteger": question.maximum},
        ]
        if question.unit:
            extensions.append({"url": QUESTION_UNIT, "valueCoding": {"display": question.unit}})
        item["extension"] = extensions
    elif question.kind == "short_text":
        item["maxLength"] = question.text_limit
    return item


def _enable_when(
    question: Question, url: str, questions: Mapping[str, Question]
) -> tuple[list[dict[str, Any]], str | None]:
    condition = question.enable_when
    assert condition is not None

    def fail(why: str) -> FhirTranslationError:
        return FhirTranslationError(
            f"question '{question.id}': enable_when {to_json(condition)} has no FHIR R4 "
            f"enableWhen form: {why}"
        )

    def leaf(part: Any) -> tuple[list[dict[str, Any]], str | None]:
        """The enableWhen entries for one condition, and how they combine (None: just one)."""
        if isinstance(part, Answered):
            return [_exists(part.answered, True)], None
        if isinstance(part, Not):
            if isinstance(part.not_, Answered):
                return [_exists(part.not_.answered, False)], None
            raise fail("'not' is allowed only around 'answered'; use not_equals instead")
        if isinstance(part, Equals):
            return [_compare(part.equals.field, "=", part.equals.value)], None
        if isinstance(part, NotEquals):
            return [_compare(part.not_equals.field, "!=", part.not_equals.value)], None
        if isinstance(part, Contains):
            return [_compare(part.contains.field, "=", part.contains.value)], None
        if isinstance(part, In):
            entries = [_compare(part.in_.field, "=", value) for value in part.in_.values]
            return entries, ("any" if len(entries) > 1 else None)
        if isinstance(part, AtLeast):
            return [_compare(part.at_least.field, ">=", part.at_least.value)], None
        if isinstance(part, AtMost):
            return [_compare(part.at_most.field, "<=", part.at_most.value)], None
        if isinstance(part, All | AnyOf):
            wanted = "all" if isinstance(part, All) else "any"
            members = part.all if isinstance(part, All) else part.any
            combined: list[dict[str, Any]] = []
            for member in members:
                found, how = leaf(member)
                # FHIR has one enableBehavior per item: 'all' and 'any' cannot be mixed.
                if how is not None and how != wanted and len(found) > 1:
                    raise fail(f"'{how}' inside '{wanted}' needs nested logic FHIR R4 lacks")
                combined.extend(found)
            return combined, (wanted if len(combined) > 1 else None)
        raise fail(f"unknown condition {type(part).__name__}")

    def _exists(field: str, present: bool) -> dict[str, Any]:
        _known(field)
        return {"question": field, "operator": "exists", "answerBoolean": present}

    def _compare(field: str, operator: str, value: Any) -> dict[str, Any]:
        target = _known(field)
        entry: dict[str, Any] = {"question": field, "operator": operator}
        if target.kind in {"one_of", "any_of", "yes_no"}:
            if operator not in {"=", "!="}:
                raise fail(f"'{operator}' cannot compare the choices of '{field}'")
            entry["answerCoding"] = {
                "system": choice_system(url, field),
                "code": str(value),
                "display": target.label_of(value),
            }
        elif target.kind == "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise fail(f"'{field}' is a number, but {value!r} is not")
            if value != int(value):
                raise fail(f"'{field}' takes whole numbers, but {value!r} is not one")
            entry["answerInteger"] = int(value)
        else:
            if operator not in {"=", "!="}:
                raise fail(f"'{operator}' cannot compare the text of '{field}'")
            entry["answerString"] = str(value)
        return entry

    def _known(field: str) -> Question:
        target = questions.get(field)
        if target is None:
            raise fail(f"no question has the id '{field}'")
        return target

    return leaf(condition)


# --- the QuestionnaireResponse ------------------------------------------------------------


def build_questionnaire_response(
    ruleset: Any,
    url: str,
    *,
    reference: str,
    answers: Mapping[str, Any],
    authored: datetime,
    version: str | None,
    patient_name: str,
    date_of_birth: date | None,
) -> dict[str, Any]:
    """A completed QuestionnaireResponse with one group per page and an item per answer.

    Only questions still visible for these answers are written: a hidden question never
    contributes a value, even if an old stored record holds one.
    """
    groups = []
    for page in ruleset.questionnaire.pages:
        items = []
        for question in page.questions:
            value = answers.get(question.id)
            if _is_blank(value) or not ruleset.is_visible(question, answers):
                continue
            items.append(
                {
                    "linkId": question.id,
                    "text": question.label,
                    "answer": _answer_values(question, value, url),
                }
            )
        if items:
            groups.append({"linkId": page_link_id(page.id), "text": page.title, "item": items})
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": "patient",
        "name": [{"text": patient_name}],
    }
    if date_of_birth is not None:
        patient["birthDate"] = date_of_birth.isoformat()
    response: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": reference,
        "contained": [patient],
        "identifier": {"system": f"{url}/submissions", "value": reference},
        "questionnaire": f"{url}|{version}" if version else url,
        "status": "completed",
        "subject": {"reference": "#patient", "display": patient_name},
        "authored": authored.isoformat(),
    }
    if groups:
        response["item"] = groups
    return response


def _is_blank(value: Any) -> bool:
    return value is None or value == "" or value == []


def _answer_values(question: Question, value: Any, url: str) -> list[dict[str, Any]]:
    if question.kind in {"one_of", "any_of", "yes_no"}:
        chosen = value if isinstance(value, list) else [value]
        system = choice_system(url, question.id)
        return [
            {
                "valueCoding": {
                    "system": system,
                    "code": str(choice),
                    "display": question.label_of(choice),
                }
            }
            for choice in chosen
        ]
    if question.kind == "number":
        return [{"valueInteger": int(value)}]
    return [{"valueString": str(value)}]
