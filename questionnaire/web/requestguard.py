"""Refuses requests carrying a NUL character anywhere a value can hide.

PostgreSQL cannot store text with NUL in it and SQLite would store it silently; no field of
this service has a use for it. One check at the door gives every form, query string and path
the same clear 400 instead of a database error deep inside a view.
"""

from __future__ import annotations

from flask import Flask, request

from questionnaire.web.errors import BadInput

MESSAGE = (
    "The request contains a NUL character (\\x00), which no field allows. Remove it and try again."
)


_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def _has_nul() -> bool:
    if "\x00" in request.path:
        return True
    sources = []
    # A query string can only carry a NUL written as %00: most have none, and need no parsing.
    query = request.query_string
    if b"%00" in query or b"\x00" in query:
        sources.append(request.args)
    # Only form posts have form fields; reading request.form on a JSON body costs for nothing.
    if request.mimetype in _FORM_TYPES:
        sources.append(request.form)
    for values in sources:
        for key, value in values.items(multi=True):
            if "\x00" in key or "\x00" in value:
                return True
    return False


def register_request_guard(app: Flask) -> None:
    @app.before_request
    def refuse_nul() -> None:
        if _has_nul():
            raise BadInput(description=MESSAGE)
