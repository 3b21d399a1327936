"""A body sent without a length (chunked) is held to ``MAX_CONTENT_LENGTH`` as one with a
length is.

Werkzeug answers a ``Content-Length`` over the limit with 413. A chunked body, though, it
reads only up to the limit and then stops: the rest is dropped without a word, and what was
read is parsed as though it were all, so a JSON body ends in "not valid JSON" and a form loses
its last fields. So such a body is read here first, one byte past the limit: over it, 413;
within it, the body is handed on with its length, and every parser sees all of it.
"""

from __future__ import annotations

import io

from flask import Flask, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge


def register_body_limit(app: Flask) -> None:
    """Check chunked bodies before any other hook reads the body (register this first)."""

    @app.before_request
    def read_chunked_body() -> None:
        environ = request.environ
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        if not chunked or limit is None or environ.get("CONTENT_LENGTH"):
            return
        body = environ["wsgi.input"].read(limit + 1)
        if len(body) > limit:
            raise RequestEntityTooLarge()
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
