"""FHIR R4 exports, validated with fhir.resources (R4B models: see docs/exports.md)."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from flask import Flask
from flask.testing import FlaskClient
from helpers import Account, login, make_clinic, make_staff, make_submission, submission_row

from questionnaire.clinic.fhir import (
    FhirTranslationError,
    build_questionnaire,
    build_questionnaire_response,
)
from questionnaire.clinic.models import AuditEvent
from questionnaire.engine import RuleSet
from questionnaire.engine.definition import Page, Question
from questionnaire.extensions import db

URL = "https://clinic.example.org/fhir/Questionnaire/back-injections"

# The codes FHIR R4 allows for these elements (fhir.resources checks structure, not codes).
ITEM_TYPES = {
    "group", "display", "boolean", "decimal", "integer", "date", "dateTime", "time", "string",
    "text", "url", "choice", "open-choice", "attachment", "reference", "quantity",
}  # fmt: skip
OPERATORS = {"exists", "=", "!=", ">", "<", ">=", "<="}
BEHAVIOURS = {"all", "any"}


def walk(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for item in items:
        found.append(item)
        found.extend(walk(item.get("item", [])))
    return found


# --- the Questionnaire ---------------------------------------------------------------------


def test_the_shipped_definition_translates_and_validates(ruleset: RuleSet) -> None:
    resource = build_questionnaire(ruleset, URL)
    Questionnaire.model_validate(resource)
    assert resource["url"] == URL and resource["version"] == ruleset.version
    assert resource["status"] == "active"
    pages = resource["item"]
    assert [page["linkId"] for page in pages] == [
        f"page/{page.id}" for page in ruleset.questionnaire.pages
    ]
    items = walk(pages)
    link_ids = [item["linkId"] for item in items]
    assert len(link_ids) == len(set(link_ids))
    questions = [item for item in items if item["type"] != "group"]
    assert [item["linkId"] for item in questions] == [q.id for q in ruleset.questions]
    for item in items:
        assert item["type"] in ITEM_TYPES
        for condition in item.get("enableWhen", []):
            assert condition["operator"] in OPERATORS
            assert condition["question"] in ruleset.question_by_id
        if len(item.get("enableWhen", [])) > 1:
            assert item["enableBehavior"] in BEHAVIOURS
    by_id = {item["linkId"]: item for item in questions}
    for question in ruleset.questions:
        item = by_id[question.id]
        assert item["required"] is question.required
        assert item.get("repeats", False) is (question.kind == "any_of")
        if question.kind in {"one_of", "any_of", "yes_no"}:
            assert item["type"] == "choice"
            codes = [option["valueCoding"]["code"] for option in item["answerOption"]]
            assert codes == list(question.choice_ids)
            systems = {option["valueCoding"]["system"] for option in item["answerOption"]}
            assert systems == {f"{URL}/choices/{question.id}"}


def test_enable_when_of_the_shipped_definition(ruleset: RuleSet) -> None:
    items = {item["linkId"]: item for item in walk(build_questionnaire(ruleset, URL)["item"])}
    assert items["injection_relief"]["enableWhen"] == [
        {
            "question": "earlier_injections",
            "operator": "=",
            "answerCoding": {
                "system": f"{URL}/choices/earlier_injections",
                "code": "yes",
                "display": "Yes",
            },
        }
    ]
    assert items["allergy_other"]["enableWhen"][0]["answerCoding"]["code"] == "other"
    assert "enableWhen" not in items["pain_duration"]


def tiny_ruleset(enable_when: dict[str, Any] | None) -> SimpleNamespace:
    """Three questions of each answer kind and a follow-up with the given condition."""
    questions = [
        Question.model_validate(
            {
                "id": "colour",
                "kind": "one_of",
                "label": "Colour?",
                "choices": [{"id": c, "label": c.title()} for c in ("red", "blue", "green")],
            }
        ),
        Question.model_validate(
            {
                "id": "pets",
                "kind": "any_of",
                "label": "Pets?",
                "choices": [{"id": c, "label": c.title()} for c in ("cat", "dog", "none")],
            }
        ),
        Question.model_validate(
            {"id": "score", "kind": "number", "label": "Score?", "minimum": 0, "maximum": 10}
        ),
        Question.model_validate(
            {"id": "follow_up", "kind": "short_text", "label": "Why?", "enable_when": enable_when}
        ),
    ]
    page = Page(id="only", title="Only page", questions=questions)
    return SimpleNamespace(
        version="1",
        questionnaire=SimpleNamespace(pages=[page]),
        question_by_id={q.id: q for q in questions},
    )


def coding(field: str, code: str) -> dict[str, str]:
    return {"system": f"{URL}/choices/{field}", "code": code, "display": code.title()}


@pytest.mark.parametrize(
    ("condition", "expected", "behaviour"),
    [
        (
            {"equals": {"field": "colour", "value": "red"}},
            [{"question": "colour", "operator": "=", "answerCoding": coding("colour", "red")}],
            None,
        ),
        (
            {"not_equals": {"field": "colour", "value": "red"}},
            [{"question": "colour", "operator": "!=", "answerCoding": coding("colour", "red")}],
            None,
        ),
        (
            {"contains": {"field": "pets", "value": "dog"}},
            [{"question": "pets", "operator": "=", "answerCoding": coding("pets", "dog")}],
            None,
        ),
        (
            {"in": {"field": "colour", "values": ["red", "blue"]}},
            [
                {"question": "colour", "operator": "=", "answerCoding": coding("colour", "red")},
                {"question": "colour", "operator": "=", "answerCoding": coding("colour", "blue")},
            ],
            "any",
        ),
        (
            {"answered": "score"},
            [{"question": "score", "operator": "exists", "answerBoolean": True}],
            None,
        ),
        (
            {"not": {"answered": "score"}},
            [{"question": "score", "operator": "exists", "answerBoolean": False}],
            None,
        ),
        (
            {"at_least": {"field": "score", "value": 7}},
            [{"question": "score", "operator": ">=", "answerInteger": 7}],
            None,
        ),
        (
            {"at_most": {"field": "score", "value": 3}},
            [{"question": "score", "operator": "<=", "answerInteger": 3}],
            None,
        ),
        (
            {
                "all": [
                    {"equals": {"field": "colour", "value": "green"}},
                    {"at_least": {"field": "score", "value": 5}},
                ]
            },
            [
                {"question": "colour", "operator": "=", "answerCoding": coding("colour", "green")},
                {"question": "score", "operator": ">=", "answerInteger": 5},
            ],
            "all",
        ),
        (
            {
                "any": [
                    {"contains": {"field": "pets", "value": "cat"}},
                    {"in": {"field": "colour", "values": ["red", "blue"]}},
                ]
            },
            [
                {"question": "pets", "operator": "=", "answerCoding": coding("pets", "cat")},
                {"question": "colour", "operator": "=", "answerCoding": coding("colour", "red")},
                {"question": "colour", "operator": "=", "answerCoding": coding("colour", "blue")},
            ],
            "any",
        ),
        ({"all": []}, None, None),
    ],
)
def test_each_condition_translates(
    condition: dict[str, Any], expected: list[dict[str, Any]] | None, behaviour: str | None
) -> None:
    resource = build_questionnaire(tiny_ruleset(condition), URL)
    Questionnaire.model_validate(resource)
    follow_up = resource["item"][0]["item"][-1]
    assert follow_up.get("enableWhen") == expected
    assert follow_up.get("enableBehavior") == behaviour


@pytest.mark.parametrize(
    ("condition", "why"),
    [
        (
            {"not": {"equals": {"field": "colour", "value": "red"}}},
            "'not' is allowed only around 'answered'",
        ),
        (
            {
                "all": [
                    {"in": {"field": "colour", "values": ["red", "blue"]}},
                    {"answered": "score"},
                ]
            },
            "'any' inside 'all'",
        ),
        (
            {
                "any": [
                    {
                        "all": [
                            {"answered": "score"},
                            {"contains": {"field": "pets", "value": "cat"}},
                        ]
                    },
                    {"answered": "colour"},
                ]
            },
            "'all' inside 'any'",
        ),
        ({"at_least": {"field": "colour", "value": 3}}, "cannot compare the choices of 'colour'"),
        ({"at_least": {"field": "score", "value": 2.5}}, "takes whole numbers"),
        ({"answered": "nowhere"}, "no question has the id 'nowhere'"),
    ],
)
def test_untranslatable_conditions_are_named(condition: dict[str, Any], why: str) -> None:
    with pytest.raises(FhirTranslationError) as caught:
        build_questionnaire(tiny_ruleset(condition), URL)
    message = str(caught.value)
    assert message.startswith("question 'follow_up': enable_when ")
    assert why in message


# --- the QuestionnaireResponse -------------------------------------------------------------


@pytest.fixture
def signed_in(app: Flask, client: FlaskClient) -> tuple[FlaskClient, Account]:
    clinic_id = make_clinic(app)
    nurse = make_staff(app, clinic_id, "nurse@alpha.example.org")
    login(client, nurse.email, nurse.password)
    return client, nurse


def test_questionnaire_response_per_submission(
    app: Flask, signed_in: tuple[FlaskClient, Account], ruleset: RuleSet
) -> None:
    client, nurse = signed_in
    submission_id = make_submission(
        app,
        nurse.clinic_id,
        {
            "conservative_care": ["home_exercise", "pain_medicine"],
            "pain_score": 6,
            "earlier_injections": "no",
            "blood_thinners": "yes",
            "blood_thinner_name": "Warfarin",
        },
    )
    stored = submission_row(app, submission_id)
    response = client.get(f"/clinic/submissions/{submission_id}/fhir.json")
    assert response.status_code == 200
    assert response.mimetype == "application/fhir+json"
    resource = json.loads(response.get_data(as_text=True))
    QuestionnaireResponse.model_validate(resource)

    definition = json.loads(client.get("/clinic/fhir/Questionnaire.json").get_data(as_text=True))
    Questionnaire.model_validate(definition)
    assert resource["questionnaire"] == f"{definition['url']}|{stored.ruleset_version}"
    assert resource["status"] == "completed"
    assert resource["identifier"]["value"] == stored.reference
    assert resource["authored"].startswith(stored.created_at.strftime("%Y-%m-%dT%H:%M:%S"))
    assert resource["contained"][0]["birthDate"] == "1960-03-27"

    groups = {group["linkId"]: group for group in resource["item"]}
    pages_in_order = [
        f"page/{page.id}" for page in ruleset.questionnaire.pages if f"page/{page.id}" in groups
    ]
    assert list(groups) == pages_in_order
    answers = {
        item["linkId"]: item["answer"] for group in resource["item"] for item in group["item"]
    }
    assert set(answers) == set(stored.answers)
    assert "injection_relief" not in answers
    assert answers["pain_score"] == [{"valueInteger": 6}]
    assert answers["blood_thinner_name"] == [{"valueString": "Warfarin"}]
    assert [a["valueCoding"]["code"] for a in answers["conservative_care"]] == [
        "home_exercise",
        "pain_medicine",
    ]
    # Every coding is one the Questionnaire offers for that question.
    options = {
        item["linkId"]: {
            (o["valueCoding"]["system"], o["valueCoding"]["code"]) for o in item["answerOption"]
        }
        for item in walk(definition["item"])
        if "answerOption" in item
    }
    for link_id, values in answers.items():
        for value in values:
            if "valueCoding" in value:
                pair = (value["valueCoding"]["system"], value["valueCoding"]["code"])
                assert pair in options[link_id]

    with app.app_context():
        row = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "export_fhir"))
        assert row is not None
        assert (row.user_id, row.record_id) == (nurse.id, str(submission_id))


def test_a_hidden_answer_never_reaches_fhir(ruleset: RuleSet) -> None:
    from datetime import UTC, datetime

    answers = {
        "pain_duration": "over_6_months",
        "earlier_injections": "no",
        "injection_relief": "over_3_months",
    }
    resource = build_questionnaire_response(
        ruleset,
        URL,
        reference="K7M-4PX-9QD",
        answers=answers,
        authored=datetime(2026, 11, 24, 9, 30, tzinfo=UTC),
        version=ruleset.version,
        patient_name="Ada Patient",
        date_of_birth=None,
    )
    QuestionnaireResponse.model_validate(resource)
    link_ids = {item["linkId"] for item in walk(resource["item"])}
    assert "earlier_injections" in link_ids
    assert "injection_relief" not in link_ids
    assert "birthDate" not in resource["contained"][0]


def test_the_canonical_url_can_be_configured(tmp_path: Any, ruleset: RuleSet) -> None:
    from questionnaire import create_app

    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "SECRET_KEY": "test-secret-key-not-for-production",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'fhir.sqlite3'}",
            "SECURE_COOKIES": False,
            "RATELIMIT_ENABLED": False,
            "FHIR_QUESTIONNAIRE_URL": URL + "/",
        }
    )
    with app.app_context():
        db.create_all()
    clinic_id = make_clinic(app)
    nurse = make_staff(app, clinic_id, "nurse@alpha.example.org")
    client = app.test_client()
    login(client, nurse.email, nurse.password)
    definition = json.loads(client.get("/clinic/fhir/Questionnaire.json").get_data(as_text=True))
    assert definition["url"] == URL
