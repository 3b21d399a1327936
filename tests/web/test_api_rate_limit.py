"""POST /api/v1/evaluate is rate-limited per client address, with a JSON 429 that says when to
come back; the OpenAPI document says so too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from jsonschema import Draft202012Validator
from support.answer_sets import TYPICAL
from support.testapp import app_with

EVALUATE = "/api/v1/evaluate"


@pytest.fixture
def limited_app(tmp_path: Path) -> Flask:
    return app_with(tmp_path, RATELIMIT_ENABLED=True, API_RATE_LIMIT="3 per minute")


def test_evaluate_answers_429_in_json_with_retry_after_once_the_limit_is_used(
    limited_app: Flask,
) -> None:
    client = limited_app.test_client()
    for _ in range(3):
        assert client.post(EVALUATE, json=TYPICAL).status_code == 200

    response = client.post(EVALUATE, json=TYPICAL)

    assert response.status_code == 429
    assert response.mimetype == "application/json"
    body: dict[str, Any] = response.get_json()
    retry = int(response.headers["Retry-After"])
    assert 1 <= retry <= 60
    message = f"Too many requests from this address. Wait {retry} seconds, then try again."
    assert body == {"error": {"status": 429, "message": message}}
    assert response.headers["Cache-Control"] == "no-store"


def test_the_limit_counts_each_client_address_on_its_own(limited_app: Flask) -> None:
    client = limited_app.test_client()
    for _ in range(4):
        client.post(EVALUATE, json=TYPICAL, environ_base={"REMOTE_ADDR": "192.0.2.1"})

    other = client.post(EVALUATE, json=TYPICAL, environ_base={"REMOTE_ADDR": "192.0.2.2"})

    assert other.status_code == 200


def test_reading_the_documents_is_not_limited(limited_app: Flask) -> None:
    client = limited_app.test_client()
    for _ in range(5):
        assert client.get("/api/v1/questionnaire").status_code == 200
        assert client.get("/api/v1/openapi.json").status_code == 200


def test_the_429_is_documented_with_its_body_and_retry_after(limited_app: Flask) -> None:
    client = limited_app.test_client()
    document = client.get("/api/v1/openapi.json").get_json()
    documented = document["paths"][EVALUATE]["post"]["responses"]["429"]
    for _ in range(4):
        response = client.post(EVALUATE, json=TYPICAL)

    assert response.status_code == 429
    assert documented["headers"]["Retry-After"]["required"] is True
    schema = {
        **documented["content"]["application/json"]["schema"],
        "components": document["components"],
    }
    Draft202012Validator(schema).validate(response.get_json())
