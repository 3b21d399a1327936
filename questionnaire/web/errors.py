"""Error pages in the base layout: a plain message, never a stack trace.

Paths under /api/ get JSON instead: ``questionnaire.web.api.register_api_error_handlers``
wraps these handlers after they are registered.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import dataclass

from flask import Flask, render_template, request
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import BadRequest, HTTPException, ServiceUnavailable

from questionnaire.extensions import db, limiter
from questionnaire.web.answerstore import has_answers
from questionnaire.web.ratelimits import RateLimited

log = logging.getLogger(__name__)

# The database refused, dropped the connection, or had no connection free in time.
DATABASE_ERRORS = (DBAPIError, PoolTimeoutError)
DATABASE_RETRY_SECONDS = 120


@dataclass(frozen=True)
class ErrorPage:
    title: str
    message: str


ERROR_PAGES: dict[int, ErrorPage] = {
    400: ErrorPage(
        "Sorry, there is a problem with that request",
        "The page could not understand what was sent. Go back and try again.",
    ),
    404: ErrorPage(
        "Page not found",
        "If you typed the web address, check it is correct. "
        "If you pasted the web address, check you copied the entire address.",
    ),
    405: ErrorPage(
        "Sorry, that action is not possible here",
        "This page cannot do what was asked. Go back and use the buttons on the page.",
    ),
    413: ErrorPage(
        "Sorry, what you sent is too large",
        "Go back and make your answers shorter, then try again.",
    ),
    429: ErrorPage(
        "Sorry, there have been too many attempts",
        "Wait a few minutes, then try again.",
    ),
    500: ErrorPage("Sorry, there is a problem with the service", "Try again later."),
    503: ErrorPage(
        "Sorry, this page is not working right now",
        "Nothing was lost: try again in a few minutes.",
    ),
}
CSRF_PAGE = ErrorPage(
    "Sorry, this form could not be checked",
    "This can happen when a page has been open for a long time, or cookies are blocked. "
    "Go back, refresh the page and try again.",
)
# Said only where it is true: to a patient whose answers this browser still holds.
ANSWERS_KEPT = "Your saved answers have not been lost."


class BadInput(BadRequest):
    """A request whose input is wrong, with a message naming what was wrong and what is allowed."""


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_error)
    for error_class in DATABASE_ERRORS:
        app.register_error_handler(error_class, handle_database_error)


def database_unavailable(error: Exception) -> ServiceUnavailable:
    """The database is down or overloaded: end the request's transaction, log the error's
    kind, and give the 503 to answer with. Only the kind is logged: the error's text could
    carry a patient's details."""
    with contextlib.suppress(SQLAlchemyError):
        db.session.rollback()
    log.warning("database unavailable at %s: %s", request.endpoint, type(error).__name__)
    return ServiceUnavailable(retry_after=DATABASE_RETRY_SECONDS)


def handle_database_error(error: Exception) -> tuple[str, int, dict[str, str]]:
    return handle_http_error(database_unavailable(error))


def handle_csrf_error(error: CSRFError) -> tuple[str, int]:
    return _render(400, CSRF_PAGE)


def handle_http_error(error: HTTPException) -> tuple[str, int, dict[str, str]]:
    code = error.code or 500
    page = ERROR_PAGES.get(code)
    if page is None:
        # Any other 4xx/5xx keeps its status with the closest general wording.
        page = ERROR_PAGES[500] if code >= 500 else ERROR_PAGES[400]
    if isinstance(error, BadInput) and error.description:
        page = ErrorPage(page.title, error.description)
    headers: dict[str, str] = {}
    valid_methods = getattr(error, "valid_methods", None)
    if code == 405 and valid_methods:
        headers["Allow"] = ", ".join(valid_methods)
    retry = retry_after(error)
    if retry is not None:
        headers["Retry-After"] = str(retry)
    body, status = _render(code, page)
    return body, status, headers


def retry_after(error: HTTPException) -> int | None:
    """Whole seconds until a request may be tried again: until the rate limit that refused
    it lets it through, or the wait a 503 names; None for any other error."""
    if isinstance(error, ServiceUnavailable):
        return error.retry_after if isinstance(error.retry_after, int) else None
    if isinstance(error, RateLimited):
        return error.wait_seconds
    if not isinstance(error, RateLimitExceeded):
        return None
    current = limiter.current_limit
    if current is None:
        return None
    return max(1, math.ceil(current.window.reset_time - time.time()))


def _render(code: int, page: ErrorPage) -> tuple[str, int]:
    if code >= 500 or page is CSRF_PAGE:
        page = _with_answers_note(page)
    return render_template("errors/error.html", code=code, page=page), code


def _with_answers_note(page: ErrorPage) -> ErrorPage:
    """``page``, telling a patient whose answers this browser holds that they are kept. Staff
    pages hold no answers, and a browser whose session has gone has none left to keep."""
    if request.path.startswith("/clinic/") or not has_answers():
        return page
    return ErrorPage(page.title, f"{page.message} {ANSWERS_KEPT}")
