"""The JSON API at /api/v1: the questionnaire as data, and evaluation of a whole answer set.

Answers sent here are evaluated and returned, never stored or logged; like every page, each
answer carries ``Cache-Control: no-store`` (``questionnaire.web.security``). Every error,
including routing 404 and 405 under /api/, is a JSON body
``{"error": {"status": ..., "message": ...}}``. POST /evaluate is rate-limited per client address
(``API_RATE_LIMIT``); over the limit it answers 429 with a Retry-After header.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, Response, current_app, json, request
from werkzeug.exceptions import HTTPException, InternalServerError

from questionnaire.engine import AnswersError
from questionnaire.extensions import csrf
from questionnaire.web.api_models import (
    AnswersErrorBody,
    ErrorBody,
    ErrorDetail,
    FieldProblem,
    QuestionnaireDocument,
)
from questionnaire.web.app import current_ruleset
from questionnaire.web.errors import DATABASE_ERRORS, database_unavailable, retry_after
from questionnaire.web.json_body import read_json_object
from questionnaire.web.openapi import build_openapi
from questionnaire.web.ratelimits import rate_limited
from questionnaire.web.resultcache import result_json

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# No CSRF token here: forgery rides on cookies the browser adds by itself, and this API reads
# no cookie or session and stores nothing. A page on another site cannot send it JSON without
# a CORS preflight (never granted), nor read what it answers.
csrf.exempt(bp)

JSON = "application/json"
# Plain words for the errors werkzeug raises with its own, browser-oriented descriptions.
MESSAGES = {
    400: "The request could not be understood.",
    404: "There is nothing at this address. The API is described at /api/v1/openapi.json.",
    405: "This address does not take that method.",
    413: "The body is too large.",
    415: "Send the answers as JSON, with the header Content-Type: application/json.",
    429: "Too many requests. Wait a little, then try again.",
    500: "Something went wrong on the server. Nothing was stored. Try again later.",
}
INVALID_ANSWERS = "The answers are not valid."


@bp.get("/questionnaire")
def questionnaire() -> Response:
    return _cached_json("api.questionnaire", _questionnaire_json)


def evaluate_limit() -> str:
    """Requests per client address (Flask-Limiter syntax), from the config: ``API_RATE_LIMIT``."""
    limit: str = current_app.config["API_RATE_LIMIT"]
    return limit


@bp.post("/evaluate")
@rate_limited(evaluate_limit)
def evaluate() -> Response:
    raw = read_json_object(request)
    ruleset = current_ruleset()
    try:
        answers = ruleset.validate(raw)
    except AnswersError as error:
        return _answers_error(error)
    return Response(result_json(ruleset.evaluate(answers)), mimetype=JSON)


@bp.get("/openapi.json")
def openapi() -> Response:
    return _cached_json("api.openapi", lambda: json.dumps(build_openapi(current_ruleset())))


def _questionnaire_json() -> str:
    document = QuestionnaireDocument.from_ruleset(current_ruleset())
    return document.model_dump_json(by_alias=True)


def _cached_json(key: str, build: Callable[[], str]) -> Response:
    """Documents that depend only on the loaded rule set are built once per app."""
    body = current_app.extensions.get(key)
    if body is None:
        body = current_app.extensions[key] = build()
    return Response(body, mimetype=JSON)


def _answers_error(error: AnswersError) -> Response:
    body = AnswersErrorBody(
        error=ErrorDetail(status=422, message=INVALID_ANSWERS),
        errors=[FieldProblem.from_field_error(problem) for problem in error.errors],
    )
    return Response(body.model_dump_json(), status=422, mimetype=JSON)


def error_response(error: BaseException) -> Response:
    """The JSON body for an HTTP error (or 500 for anything else); also used for routing errors."""
    if not isinstance(error, HTTPException):
        error = InternalServerError()
    code = error.code or 500
    described = error.description is not None and error.description != type(error).description
    valid_methods: list[str] = list(getattr(error, "valid_methods", None) or ())
    if described and error.description:
        message = error.description
    elif code == 405 and valid_methods:
        message = (
            f"This address does not take {request.method}. It takes: "
            + ", ".join(method for method in valid_methods if method not in ("HEAD", "OPTIONS"))
            + "."
        )
    else:
        message = _message_for(code)
    retry = retry_after(error)
    if retry is not None and code == 429:
        message = f"Too many requests from this address. Wait {retry} seconds, then try again."
    body = ErrorBody(error=ErrorDetail(status=code, message=message))
    response = Response(body.model_dump_json(), status=code, mimetype=JSON)
    if valid_methods:
        response.headers["Allow"] = ", ".join(valid_methods)
    if retry is not None:
        response.headers["Retry-After"] = str(retry)
    response.headers["Cache-Control"] = "no-store"
    return response


def _message_for(code: int) -> str:
    limit = request.max_content_length
    if code == 413 and limit:
        return f"The body is too large: at most {limit} bytes are accepted."
    if code in MESSAGES:
        return MESSAGES[code]
    return MESSAGES[500] if code >= 500 else MESSAGES[400]


# Errors raised inside these views, 500 included (InternalServerError is an HTTPException).
bp.register_error_handler(HTTPException, error_response)


def is_api_path(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def register_api_error_handlers(app: Flask) -> None:
    """JSON errors for every path under /api/, including the routing 404 and 405 that happen
    before any blueprint is chosen.

    Call it after the page error handlers are registered: it wraps each app-level handler so
    that /api/ paths get JSON and every other path still gets its page.
    """
    spec = app.error_handler_spec[None]
    for code, handlers in list(spec.items()):
        for exc_class, handler in list(handlers.items()):
            # Flask's handler table is keyed by code and exception class, so re-register in place.
            spec[code][exc_class] = _api_first(handler)
    if HTTPException not in spec[None]:
        spec[None][HTTPException] = _api_first(None)


def _api_first(page_handler: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    def handle(error: Any) -> Any:
        if is_api_path(request.path):
            if isinstance(error, DATABASE_ERRORS):
                error = database_unavailable(error)
            return error_response(error)
        if page_handler is None:
            return error
        return page_handler(error)

    return handle
