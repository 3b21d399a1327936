"""POST /api/v1/evaluate, fed a valid answer set with one thing spoiled at a time.

The schema-driven run lives in tests/web/test_api_schemathesis.py; this one sends what a schema
never describes: raw JSON tokens Python's encoder refuses (NaN, 1e999), duplicate keys, lone
surrogates, deep nesting, huge text and numbers, and broken envelopes (content type, encoding).
Every answer must be JSON with a clear status, never a server error, and nothing is stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fuzzing import HUGE, MARKUP, UNICODE, fuzz
from harness import build_app
from hypothesis import given
from hypothesis import strategies as st
from patientflow import ANSWERS
from sqlalchemy import func, select

from questionnaire.clinic.models import AuditEvent, Submission
from questionnaire.extensions import db

pytestmark = pytest.mark.slow

EVALUATE = "/api/v1/evaluate"
ALLOWED = {200, 400, 413, 415, 422}
EXAMPLES = 800

# JSON text that json.dumps never writes, but a client can send.
RAW_TOKENS = (
    "NaN",
    "Infinity",
    "-Infinity",
    "1e999",
    "-1e999",
    "1" * 5000,
    "0." + "0" * 5000 + "1",
    '"\\ud800"',
    '"\\udfff\\ud800"',
    '"\\u0000"',
    "[" * 2000 + "]" * 2000,
    '{"a":' * 500 + "1" + "}" * 500,
    "true",
    "null",
    "[]",
    "{}",
    '"' + "x" * 200_000 + '"',
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(MARKUP + UNICODE + (HUGE,)),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=15,
)


def encode(value: Any) -> str:
    # Lone surrogates pass as \u escapes, as JSON allows.
    return json.dumps(value, ensure_ascii=True)


raw_values = st.one_of(json_values.map(encode), st.sampled_from(RAW_TOKENS))


@dataclass(frozen=True)
class Body:
    data: bytes
    content_type: str


def object_text(pairs: list[tuple[str, str]]) -> str:
    return "{" + ", ".join(f"{encode(key)}: {raw}" for key, raw in pairs) + "}"


@st.composite
def bodies(draw: st.DrawFn) -> Body:
    pairs = [(key, encode(value)) for key, value in ANSWERS.items()]
    kind = draw(st.sampled_from(["replace", "drop", "extra", "duplicate", "envelope"]))
    if kind == "replace":
        index = draw(st.integers(0, len(pairs) - 1))
        pairs[index] = (pairs[index][0], draw(raw_values))
    elif kind == "drop":
        del pairs[draw(st.integers(0, len(pairs) - 1))]
    elif kind == "extra":
        name = draw(st.sampled_from(["__proto__", "constructor", "", "answers"]) | st.text())
        pairs.append((name, draw(raw_values)))
    elif kind == "duplicate":
        key = draw(st.sampled_from([key for key, _ in pairs]))
        pairs.append((key, draw(raw_values)))
    text = object_text(pairs)
    if kind != "envelope":
        return Body(text.encode("utf-8"), "application/json")
    envelope = draw(
        st.sampled_from(
            [
                Body(text.encode("utf-16"), "application/json"),
                Body(b"\xef\xbb\xbf" + text.encode("utf-8"), "application/json"),
                Body(text.encode("utf-8")[:-1], "application/json"),
                Body((text + " trailing").encode("utf-8"), "application/json"),
                Body(b"\xff\xfe\xfa" + text.encode("utf-8"), "application/json"),
                Body(("[" + text + "]").encode("utf-8"), "application/json"),
                Body(text.encode("utf-8"), "text/plain"),
                Body(text.encode("utf-8"), "application/x-www-form-urlencoded"),
                Body(text.encode("utf-8"), "application/json; charset=latin-1"),
                Body(b"", "application/json"),
                Body(b"A" * 300_000, "application/json"),
            ]
        )
    )
    return envelope


def stored_rows() -> tuple[int, int]:
    return (
        db.session.scalar(select(func.count()).select_from(Submission)) or 0,
        db.session.scalar(select(func.count()).select_from(AuditEvent)) or 0,
    )


def test_evaluate_answers_every_spoiled_body_with_clear_json(tmp_path: Path) -> None:
    app = build_app(tmp_path)
    client = app.test_client()
    with app.app_context():
        before = stored_rows()
    sent = []

    @fuzz(EXAMPLES)
    @given(body=bodies())
    def run(body: Body) -> None:
        response = client.post(EVALUATE, data=body.data, content_type=body.content_type)
        sent.append(response.status_code)
        text = response.get_data(as_text=True)
        assert response.status_code in ALLOWED, f"{response.status_code}: {text[:300]}"
        assert response.mimetype == "application/json", response.mimetype
        assert "Traceback" not in text
        assert 'File "' not in text
        assert "Set-Cookie" not in response.headers, "the API must not start a session"
        document = json.loads(text)
        if response.status_code == 200:
            assert isinstance(document["urgent"], bool)
        elif response.status_code == 422:
            assert document["errors"], "a 422 must name the fields that are wrong"
            for problem in document["errors"]:
                # The field may be "" when the client sent a key that is the empty string.
                assert isinstance(problem["field"], str) and problem["message"]
        else:
            assert document["error"]["message"], "an error must say what was wrong"

    run()
    assert len(sent) >= EXAMPLES * 0.9, f"only {len(sent)} requests were sent"
    with app.app_context():
        assert stored_rows() == before, "evaluating answers stored something"
