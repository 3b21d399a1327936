"""The JSON API: what it returns for good answers, and a clear JSON error for everything else."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from support.answer_sets import ALL_RED_FLAGS, TYPICAL
from werkzeug.test import TestResponse

from questionnaire.engine import Result, RuleSet

EVALUATE = "/api/v1/evaluate"
CONTRACT_FIELDS = sorted(TYPICAL)


def answers(**changes: Any) -> dict[str, Any]:
    return {**TYPICAL, **changes}


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


def json_of(response: TestResponse, status: int = 200) -> dict[str, Any]:
    """The body of a JSON response, after checking its status and media type."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    data: dict[str, Any] = response.get_json()
    return data


def evaluate(client: FlaskClient, body: Any) -> dict[str, Any]:
    return json_of(client.post(EVALUATE, json=body))


# -- good answers ----------------------------------------------------------------------------


def test_evaluate_returns_the_result_stamped_with_the_rule_set(
    client: FlaskClient, ruleset: RuleSet
) -> None:
    result = evaluate(client, TYPICAL)
    Result.model_validate(result)
    assert result["ruleset"] == {"version": ruleset.version, "sha256": ruleset.sha256}
    assert result["disclaimer"] == ruleset.disclaimer
    assert result["urgent"] is False
    assert result["urgent_reasons"] == []
    assert result["sections"], "every answer set gets at least the general sections"
    for item in result["sections"] + result["questions"] + result["care_team_notes"]:
        assert item["because"]["rule_ids"], f"{item['id']} does not say why it is there"
        assert item["because"]["reason"]


@pytest.mark.parametrize("flag", ALL_RED_FLAGS)
def test_each_red_flag_makes_the_result_urgent(client: FlaskClient, flag: str) -> None:
    result = evaluate(client, answers(red_flags=[flag]))
    assert result["urgent"] is True
    assert len(result["urgent_reasons"]) == 1
    assert "tell-urgent-symptoms" in ids(result["care_team_notes"])


def test_several_red_flags_give_one_reason_each(client: FlaskClient) -> None:
    result = evaluate(client, answers(red_flags=["saddle_numbness", "fever_or_chills"]))
    assert result["urgent"] is True
    assert len(result["urgent_reasons"]) == 2


def test_not_sure_about_blood_thinners_asks_a_question_and_adds_a_note(
    client: FlaskClient,
) -> None:
    result = evaluate(client, answers(blood_thinners="not_sure"))
    assert "ask-blood-thinner-plan" in ids(result["questions"])
    notes = {note["id"]: note for note in result["care_team_notes"]}
    assert "tell-blood-thinners-unsure" in notes
    assert notes["tell-blood-thinners-unsure"]["because"]["rule_ids"] == ["blood-thinners-not-sure"]
    assert "blood-thinners" in ids(result["sections"])


def test_no_blood_thinners_adds_no_blood_thinner_items(client: FlaskClient) -> None:
    result = evaluate(client, TYPICAL)
    assert "ask-blood-thinner-plan" not in ids(result["questions"])
    assert not {"tell-blood-thinners", "tell-blood-thinners-unsure"} & set(
        ids(result["care_team_notes"])
    )


def test_a_hidden_question_never_fires_a_rule(client: FlaskClient) -> None:
    # injection_relief is asked only after "yes" to earlier_injections.
    hidden = evaluate(client, answers(earlier_injections="no", injection_relief="did_not_help"))
    shown = evaluate(client, answers(earlier_injections="yes", injection_relief="did_not_help"))
    assert "earlier-injection-did-not-help" not in ids(hidden["fired_rules"])
    assert "earlier-injection-did-not-help" in ids(shown["fired_rules"])


def test_evaluate_works_with_csrf_on_and_sets_no_cookie(app: Flask, client: FlaskClient) -> None:
    assert app.config.get("WTF_CSRF_ENABLED", True) is True
    response = client.post(EVALUATE, json=TYPICAL)
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/questionnaire", None),
        ("GET", "/api/v1/openapi.json", None),
        ("POST", EVALUATE, TYPICAL),
        ("POST", EVALUATE, answers(diabetes="maybe")),
        ("POST", EVALUATE, []),
        ("GET", "/api/v1/no-such-thing", None),
    ],
)
def test_no_response_may_be_stored(client: FlaskClient, method: str, path: str, body: Any) -> None:
    response = client.open(path, method=method, json=body)
    assert response.headers["Cache-Control"] == "no-store"


# -- invalid answers: 422 with one entry per field -------------------------------------------


def invalid(client: FlaskClient, body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    data = json_of(client.post(EVALUATE, json=body), 422)
    assert set(data) == {"error", "errors"}
    assert data["error"] == {"status": 422, "message": "The answers are not valid."}
    assert data["errors"], "a 422 always names at least one field"
    for entry in data["errors"]:
        assert set(entry) == {"field", "message", "allowed"}
        assert entry["message"]
    by_field = {entry["field"]: entry for entry in data["errors"]}
    assert len(by_field) == len(data["errors"]), "one entry per field"
    return by_field


@pytest.mark.parametrize("field", CONTRACT_FIELDS)
def test_a_missing_contract_field_is_named(client: FlaskClient, field: str) -> None:
    body = {key: value for key, value in TYPICAL.items() if key != field}
    errors = invalid(client, body)
    assert list(errors) == [field]


def test_an_unknown_field_is_named_with_the_fields_allowed(
    client: FlaskClient, ruleset: RuleSet
) -> None:
    errors = invalid(client, answers(shoe_size=9))
    assert errors["shoe_size"]["message"] == "This is not a question of this form"
    assert set(errors["shoe_size"]["allowed"]) == set(ruleset.question_by_id)


def test_an_invalid_choice_names_the_allowed_values(client: FlaskClient) -> None:
    errors = invalid(client, answers(pain_duration="forever"))
    assert errors["pain_duration"]["allowed"] == [
        "under_6_weeks",
        "6_to_12_weeks",
        "3_to_6_months",
        "over_6_months",
    ]


def test_an_invalid_choice_in_a_list_names_the_allowed_values(client: FlaskClient) -> None:
    errors = invalid(client, answers(conservative_care=["yoga"]))
    assert "none" in errors["conservative_care"]["allowed"]
    assert "physical_therapy" in errors["conservative_care"]["allowed"]


@pytest.mark.parametrize("field", ["red_flags", "conservative_care"])
def test_none_with_other_choices_is_refused(client: FlaskClient, field: str) -> None:
    other = {"red_flags": "fever_or_chills", "conservative_care": "home_exercise"}[field]
    errors = invalid(client, answers(**{field: ["none", other]}))
    assert "on its own" in errors[field]["message"]
    assert "none" in errors[field]["allowed"]


@pytest.mark.parametrize("score", [-1, 11, 1000])
def test_a_number_out_of_range_says_the_range(client: FlaskClient, score: int) -> None:
    errors = invalid(client, answers(pain_score=score))
    assert "from 0 to 10" in errors["pain_score"]["message"]
    assert errors["pain_score"]["allowed"] is None


def test_each_message_names_its_question_as_the_form_does(client: FlaskClient) -> None:
    # The same messages as beside the fields of the form; each understood on its own.
    body = answers(
        pain_score=11,
        allergies=["latex", "none"],
        allergy_other="x" * 201,
        driver="maybe",
    )
    errors = invalid(client, body)
    assert {field: entry["message"] for field, entry in errors.items()} == {
        "pain_score": "Your pain score must be a number from 0 to 10",
        "allergies": (
            "Select 'None of these' on its own for allergies, "
            "or untick it and select the options that apply"
        ),
        "allergy_other": "Other allergies must be 200 characters or fewer",
        "driver": "Select one of the options shown for someone to drive you home",
    }


def test_every_bad_field_is_reported_at_once(client: FlaskClient) -> None:
    body = answers(pain_duration="forever", red_flags=["none", "cancer_history"], shoe_size=9)
    del body["diabetes"]
    errors = invalid(client, body)
    assert set(errors) == {"pain_duration", "red_flags", "shoe_size", "diabetes"}


# -- malformed bodies: 4xx JSON that says what was wrong -------------------------------------

JSON = "application/json"


@pytest.mark.parametrize(
    ("data", "content_type", "status", "says"),
    [
        (b"", JSON, 400, "The body is empty"),
        (b"  \n", JSON, 400, "The body is empty"),
        (b'{"pain_duration": ', JSON, 400, "not valid JSON"),
        (b"{'pain_duration': 'under_6_weeks'}", JSON, 400, "not valid JSON"),
        (b'{"a": "\xff\xfe"}', JSON, 400, "not valid UTF-8"),
        (b"[]", JSON, 400, "JSON array, but it must be a JSON object"),
        (b'"answers"', JSON, 400, "JSON string, but it must be a JSON object"),
        (b"42", JSON, 400, "JSON number, but it must be a JSON object"),
        (b"null", JSON, 400, "JSON null, but it must be a JSON object"),
        (b"true", JSON, 400, "JSON boolean, but it must be a JSON object"),
        (b'{"pain_score": NaN}', JSON, 400, "contains NaN"),
        (b'{"pain_score": Infinity}', JSON, 400, "contains Infinity"),
        (b'{"pain_score": -Infinity}', JSON, 400, "contains -Infinity"),
        (b'{"pain_score": 1e400}', JSON, 400, "too large"),
        (b'{"pain_score": ' + b"9" * 5000 + b"}", JSON, 400, "at most 32 allowed"),
        (b'{"a": ' + b"[" * 50 + b"]" * 50 + b"}", JSON, 400, "nested too deeply"),
        (b"[" * 100_000 + b"]" * 100_000, JSON, 400, "nested too deeply"),
        (b'{"diabetes": "no", "diabetes": "yes"}', JSON, 400, 'key "diabetes" appears more'),
        (
            b"{" + b",".join(b'"k%d": 0' % i for i in range(101)) + b"}",
            JSON,
            400,
            "has 101 entries; at most 100 are allowed",
        ),
        (b'{"blood_thinner_name": "\\ud800"}', JSON, 400, "lone surrogate"),
        (b"{}", "text/plain", 415, "sent as text/plain"),
        (b"pain_duration=under_6_weeks", "application/x-www-form-urlencoded", 415, "Send"),
        (b"{}", None, 415, "sent as no content type"),
        (b"{}", "application/json; charset=latin-1", 415, "Only UTF-8"),
        (b" " * (256 * 1024 + 1), JSON, 413, "at most 262144 bytes"),
    ],
)
def test_a_malformed_body_gets_a_clear_json_error(
    client: FlaskClient, data: bytes, content_type: str | None, status: int, says: str
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    body = json_of(client.post(EVALUATE, data=data, headers=headers), status)
    assert set(body) == {"error"}
    assert body["error"]["status"] == status
    assert says in body["error"]["message"]


def test_a_charset_of_utf8_is_accepted(client: FlaskClient) -> None:
    response = client.post(
        EVALUATE, json=TYPICAL, headers={"Content-Type": "application/json; charset=UTF-8"}
    )
    assert response.status_code == 200


# -- routing errors under /api/ are JSON too -------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api/v2/evaluate", "/api"])
def test_an_unknown_api_address_is_a_json_404(client: FlaskClient, path: str) -> None:
    error = json_of(client.get(path), 404)["error"]
    assert error["status"] == 404
    assert "/api/v1/openapi.json" in error["message"]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", EVALUATE, "POST"),
        ("PUT", EVALUATE, "POST"),
        ("DELETE", "/api/v1/questionnaire", "GET"),
        ("POST", "/api/v1/openapi.json", "GET"),
    ],
)
def test_a_wrong_method_is_a_json_405_naming_the_right_one(
    client: FlaskClient, method: str, path: str, allowed: str
) -> None:
    response = client.open(path, method=method)
    error = json_of(response, 405)["error"]
    assert allowed in response.headers["Allow"]
    assert error["status"] == 405
    assert error["message"] == f"This address does not take {method}. It takes: {allowed}."


def test_a_server_fault_is_a_json_500_without_details(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False  # behave as in production
    ruleset = app.extensions["ruleset"]

    def fail(answers: Any) -> Any:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(ruleset, "evaluate", fail)
    response = client.post(EVALUATE, json=TYPICAL)
    assert json_of(response, 500) == {
        "error": {
            "status": 500,
            "message": "Something went wrong on the server. Nothing was stored. Try again later.",
        }
    }
    assert b"secret internal detail" not in response.data


def test_errors_outside_the_api_are_not_api_json(client: FlaskClient) -> None:
    response = client.get("/no-such-page-anywhere")
    assert response.status_code == 404
    assert b"/api/v1/openapi.json" not in response.data


# -- the questionnaire as data ---------------------------------------------------------------


@pytest.fixture
def document(client: FlaskClient) -> dict[str, Any]:
    return json_of(client.get("/api/v1/questionnaire"))


def test_the_questionnaire_has_every_page_and_question(
    document: dict[str, Any], ruleset: RuleSet
) -> None:
    assert ids(document["pages"]) == [page.id for page in ruleset.questionnaire.pages]
    served = [question["id"] for page in document["pages"] for question in page["questions"]]
    assert served == [question.id for question in ruleset.questions]
    assert set(CONTRACT_FIELDS) <= set(served)
    assert document["ruleset"] == {"version": ruleset.version, "sha256": ruleset.sha256}


def test_the_questionnaire_gives_choices_and_conditions(document: dict[str, Any]) -> None:
    questions = {q["id"]: q for page in document["pages"] for q in page["questions"]}
    assert ids(questions["blood_thinners"]["choices"]) == ["yes", "no", "not_sure"]
    assert questions["blood_thinners"]["enable_when"] is None
    assert questions["injection_relief"]["enable_when"] == {
        "equals": {"field": "earlier_injections", "value": "yes"}
    }
    assert questions["pain_score"]["minimum"] == 0
    assert questions["pain_score"]["maximum"] == 10
    assert questions["blood_thinner_name"]["max_length"] == 200
    assert questions["pain_duration"]["short_label"] == "how long you have had this pain"


def test_the_questionnaire_gives_every_short_label_of_the_rules(
    document: dict[str, Any], ruleset: RuleSet
) -> None:
    served = {q["id"]: q["short_label"] for page in document["pages"] for q in page["questions"]}
    defined = {q.id: q.short_label for page in ruleset.questionnaire.pages for q in page.questions}
    assert served == defined


def test_the_answers_schema_accepts_good_answers(document: dict[str, Any]) -> None:
    validator = Draft202012Validator(document["answers_schema"])
    Draft202012Validator.check_schema(document["answers_schema"])
    assert list(validator.iter_errors(TYPICAL)) == []
    assert list(validator.iter_errors(answers(pain_score=7, allergies=["latex"]))) == []


@pytest.mark.parametrize(
    "bad",
    [
        answers(pain_duration="forever"),
        answers(red_flags=[]),
        answers(red_flags="none"),
        answers(shoe_size=9),
        answers(pain_score=11),
        answers(pain_score=-1),
        {key: value for key, value in TYPICAL.items() if key != "infection"},
    ],
)
def test_the_answers_schema_refuses_bad_answers(
    document: dict[str, Any], bad: dict[str, Any]
) -> None:
    validator = Draft202012Validator(document["answers_schema"])
    assert list(validator.iter_errors(bad)), f"the schema accepts {bad}"


# -- the OpenAPI document --------------------------------------------------------------------


@pytest.fixture
def openapi(client: FlaskClient) -> dict[str, Any]:
    return json_of(client.get("/api/v1/openapi.json"))


def test_openapi_is_a_valid_3_1_document(openapi: dict[str, Any]) -> None:
    assert openapi["openapi"].startswith("3.1")
    validate_openapi(openapi)


def test_openapi_documents_every_path_and_status(openapi: dict[str, Any]) -> None:
    paths = openapi["paths"]
    assert set(paths) == {"/api/v1/questionnaire", "/api/v1/evaluate", "/api/v1/openapi.json"}
    assert set(paths["/api/v1/evaluate"]["post"]["responses"]) == {
        "200",
        "400",
        "413",
        "415",
        "422",
        "429",
    }
    assert paths["/api/v1/evaluate"]["post"]["requestBody"]["required"] is True


def test_openapi_schemas_describe_real_responses(
    client: FlaskClient, openapi: dict[str, Any]
) -> None:
    schemas = openapi["components"]["schemas"]

    def validator(name: str) -> Draft202012Validator:
        # Refs in the document point at #/components/schemas/...: validate from its root.
        root = {**openapi, "$ref": f"#/components/schemas/{name}"}
        return Draft202012Validator(root)

    assert {"Result", "Answers", "ErrorBody", "AnswersErrorBody"} <= set(schemas)
    result = client.post(EVALUATE, json=answers(blood_thinners="not_sure")).get_json()
    assert list(validator("Result").iter_errors(result)) == []
    refused = client.post(EVALUATE, json=answers(diabetes="maybe")).get_json()
    assert list(validator("AnswersErrorBody").iter_errors(refused)) == []
    malformed = client.post(EVALUATE, data=b"[", content_type=JSON).get_json()
    assert list(validator("ErrorBody").iter_errors(malformed)) == []
    assert list(validator("Answers").iter_errors(TYPICAL)) == []
    assert list(validator("Answers").iter_errors(answers(diabetes="maybe")))
