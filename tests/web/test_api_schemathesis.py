"""Property-based tests of the JSON API against the OpenAPI document it serves, in process.

Schemathesis generates requests that fit the document (positive) and requests that break it
(negative); for every one the API must answer without a server error, with a status code,
content type and body that the document declares.

The strategies are driven by plain ``hypothesis.given`` rather than
``schemathesis.pytest.from_fixture``: that loader rewrites a private pytest attribute
(``Node._nodeid``) that pytest 9.2 no longer has.
"""

from __future__ import annotations

import pytest
import schemathesis
from flask import Flask
from hypothesis import given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.generation.case import Case
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("method", "path", "mode"),
    [
        ("GET", "/api/v1/questionnaire", GenerationMode.POSITIVE),
        ("GET", "/api/v1/openapi.json", GenerationMode.POSITIVE),
        ("POST", "/api/v1/evaluate", GenerationMode.POSITIVE),
        # Only evaluate takes input, so only it has anything to get wrong.
        ("POST", "/api/v1/evaluate", GenerationMode.NEGATIVE),
    ],
)
def test_the_api_keeps_to_its_openapi_document(
    app: Flask, method: str, path: str, mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operation = schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=100, deadline=None, database=None)
    def conforms(case: Case) -> None:
        case.call_and_validate(checks=CHECKS)

    conforms()
