"""A body sent in chunks, with no Content-Length, is held to the same limit as any other:
over it, 413 with the limit named; within it, read whole."""

from __future__ import annotations

import io
import json
import re
from typing import Any

from flask.testing import FlaskClient
from support.answer_sets import TYPICAL
from werkzeug.test import TestResponse

LIMIT = 256 * 1024  # MAX_CONTENT_LENGTH


def send_chunked(client: FlaskClient, path: str, body: bytes, content_type: str) -> TestResponse:
    """POST ``body`` as a server hands on a chunked request: no length, a terminated stream."""
    return client.post(
        path,
        input_stream=io.BytesIO(body),
        content_type=content_type,
        headers={"Transfer-Encoding": "chunked"},
        # As gunicorn hands on a chunked body: no CONTENT_LENGTH, a stream it ends itself.
        environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": None},
    )


def test_a_chunked_json_body_within_the_limit_is_read_whole(client: FlaskClient) -> None:
    body = json.dumps({**TYPICAL, "anything_else": "x" * 400}).encode()
    response = send_chunked(client, "/api/v1/evaluate", body, "application/json")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "sections" in response.get_json()


def test_a_chunked_json_body_over_the_limit_is_too_large_not_cut(client: FlaskClient) -> None:
    # Cut at the limit, this was read as a JSON string left open: "not valid JSON".
    body = json.dumps({**TYPICAL, "anything_else": "x" * LIMIT}).encode()
    response = send_chunked(client, "/api/v1/evaluate", body, "application/json")
    assert response.status_code == 413
    assert response.get_json()["error"]["message"] == (
        f"The body is too large: at most {LIMIT} bytes are accepted."
    )


def test_a_chunked_form_over_the_limit_is_too_large_and_changes_nothing(
    client: FlaskClient,
) -> None:
    page = client.get("/questions/your-pain").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    fields: dict[str, Any] = {"csrf_token": token.group(1), "pain_duration": "over_6_months"}
    head = "&".join(f"{name}={value}" for name, value in fields.items())
    body = f"{head}&pad={'y' * LIMIT}&pain_duration=under_6_weeks".encode()

    response = send_chunked(
        client, "/questions/your-pain", body, "application/x-www-form-urlencoded"
    )

    assert response.status_code == 413
    with client.session_transaction() as session:
        assert "pain_duration" not in session.get("answers", {})
    within = send_chunked(
        client, "/questions/your-pain", head.encode(), "application/x-www-form-urlencoded"
    )
    assert within.status_code == 302
