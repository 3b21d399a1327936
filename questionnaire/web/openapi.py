"""The OpenAPI 3.1 document of the JSON API, built from the pydantic models it serves.

Nothing here is written by hand twice: the Result, error and questionnaire schemas come from
their models, and the answers schema from the loaded rule set, so the document cannot drift
from what the views send and accept.
"""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from questionnaire.engine import RuleSet
from questionnaire.engine.result import Result
from questionnaire.web.api_models import AnswersErrorBody, ErrorBody, QuestionnaireDocument

PREFIX = "/api/v1"
REF_TEMPLATE = "#/components/schemas/{model}"
ANSWERS = "Answers"
JSON = "application/json"


def build_openapi(ruleset: RuleSet) -> dict[str, Any]:
    refs, definitions = models_json_schema(
        [
            (Result, "serialization"),
            (QuestionnaireDocument, "serialization"),
            (ErrorBody, "serialization"),
            (AnswersErrorBody, "serialization"),
        ],
        ref_template=REF_TEMPLATE,
    )
    schemas: dict[str, Any] = dict(definitions.get("$defs", {}))
    answers_ref = _add_schema(schemas, ANSWERS, ruleset.answers_json_schema())

    def ref(model: type) -> dict[str, Any]:
        return dict(refs[(model, "serialization")])

    def error(description: str) -> dict[str, Any]:
        return _json_response(description, ref(ErrorBody))

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Back-pain injection questionnaire",
            "version": "1",
            "summary": "The questionnaire's questions, and the sheet its rules make from answers.",
            "description": (
                "The sheet is not a diagnosis and recommends no treatment. Answers sent here "
                "are evaluated and returned, never stored. Rule set version "
                f"{ruleset.version} (sha256 {ruleset.sha256})."
            ),
        },
        "paths": {
            f"{PREFIX}/questionnaire": {
                "get": {
                    "operationId": "getQuestionnaire",
                    "summary": "The pages and questions, and the JSON Schema of the answers.",
                    "responses": {
                        "200": _json_response("The questionnaire.", ref(QuestionnaireDocument)),
                    },
                }
            },
            f"{PREFIX}/evaluate": {
                "post": {
                    "operationId": "evaluate",
                    "summary": "Turn a whole answer set into the patient's sheet.",
                    "requestBody": {
                        "required": True,
                        "description": "One entry per answer, keyed by question id.",
                        "content": {JSON: {"schema": answers_ref}},
                    },
                    "responses": {
                        "200": _json_response(
                            "The sheet: urgent message, sections, questions and notes.",
                            ref(Result),
                        ),
                        "400": error(
                            "The body is not a usable JSON object (the message says why)."
                        ),
                        "413": error("The body is larger than the server accepts."),
                        "415": error("The body is not sent as UTF-8 application/json."),
                        "422": _json_response(
                            "The answers are not valid: one entry per problem.",
                            ref(AnswersErrorBody),
                        ),
                        "429": {
                            **error(
                                "Too many requests from this client address; the limit is set "
                                "by the operator. Wait as many seconds as Retry-After says."
                            ),
                            "headers": {
                                "Retry-After": {
                                    "description": "Seconds to wait before trying again.",
                                    "required": True,
                                    "schema": {"type": "integer", "minimum": 1},
                                }
                            },
                        },
                    },
                }
            },
            f"{PREFIX}/openapi.json": {
                "get": {
                    "operationId": "getOpenApi",
                    "summary": "This document.",
                    "responses": {
                        "200": _json_response("The OpenAPI 3.1 document.", {"type": "object"}),
                    },
                }
            },
        },
        "components": {"schemas": schemas},
    }


def _json_response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _add_schema(schemas: dict[str, Any], name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """Move a standalone JSON Schema into components, its own $defs beside it."""
    schema = dict(schema)
    schema.pop("$schema", None)
    schema.pop("$id", None)
    local_defs: dict[str, Any] = schema.pop("$defs", {})
    renamed = {key: _free_name(schemas, f"{name}{key}") for key in local_defs}
    for key, definition in local_defs.items():
        schemas[renamed[key]] = _rewrite_refs(definition, renamed)
    schemas[_free_name(schemas, name)] = _rewrite_refs(schema, renamed)
    return {"$ref": REF_TEMPLATE.format(model=name)}


def _free_name(schemas: dict[str, Any], name: str) -> str:
    if name in schemas:
        raise ValueError(f"two schemas are both named {name!r} in the OpenAPI document")
    return name


def _rewrite_refs(node: Any, renamed: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
                value = REF_TEMPLATE.format(model=renamed[value.removeprefix("#/$defs/")])
            out[key] = _rewrite_refs(value, renamed)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(item, renamed) for item in node]
    return node
