"""Reading a JSON object from a request body, with a clear message for every way it can be bad.

Each problem raises a werkzeug HTTP error whose description names what was wrong and what is
allowed; the API's error handlers turn it into a JSON error body.
"""

from __future__ import annotations

import json
import math
from typing import Any

from flask import Request
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

# An answer set is an object of strings, numbers and lists of strings: two levels deep.
MAX_DEPTH = 8
# Long enough for any number an answer can hold; stops the costly parsing of huge integers.
MAX_NUMBER_DIGITS = 32
# Far more than the questions of any form; without a cap, a body of thousands of unknown keys
# would cost seconds and answer with megabytes of errors (one per key).
MAX_KEYS = 100
EXAMPLE = '{"pain_duration": "6_to_12_weeks", "red_flags": ["none"]}'


class _BodyProblem(ValueError):
    """Raised from inside the JSON parser's hooks; becomes a 400 with this message."""


def read_json_object(request: Request) -> dict[str, Any]:
    """The request body as a dict, or a 400/413/415 error that says what to send instead."""
    _check_content_type(request)
    # Raises 413 when the body is larger than MAX_CONTENT_LENGTH.
    raw = request.get_data(cache=False)
    if not raw.strip():
        raise BadRequest(
            f"The body is empty. Send the answers as a JSON object, such as {EXAMPLE}."
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadRequest(
            f"The body is not valid UTF-8 text (bad byte at position {error.start}). "
            "Send JSON encoded as UTF-8."
        ) from None
    data = _parse(text)
    if not isinstance(data, dict):
        raise BadRequest(
            f"The body is a JSON {_json_type(data)}, but it must be a JSON object with one "
            f"entry per answer, such as {EXAMPLE}."
        )
    if _may_need_walk(raw):
        _check_values(data, depth=1)
    return data


def _may_need_walk(raw: bytes) -> bool:
    # Cheap byte counts rule out the walk for ordinary answer sets: with few brackets the body
    # cannot be nested deeply, and without a \u escape no text can hold a lone surrogate.
    return raw.count(b"[") + raw.count(b"{") > MAX_DEPTH or b"\\u" in raw


def _check_content_type(request: Request) -> None:
    if request.mimetype != "application/json":
        sent = request.mimetype or "no content type"
        raise UnsupportedMediaType(
            f"The body was sent as {sent}. Send the answers as JSON, with the header "
            "Content-Type: application/json."
        )
    charset = request.mimetype_params.get("charset")
    if charset is not None and charset.lower().replace("-", "") != "utf8":
        raise UnsupportedMediaType(
            f"The body was sent with charset={charset}. Only UTF-8 is accepted."
        )


def _parse(text: str) -> Any:
    try:
        return json.loads(
            text,
            parse_constant=_reject_constant,
            parse_float=_parse_float,
            parse_int=_parse_int,
            object_pairs_hook=_unique_keys,
        )
    except json.JSONDecodeError as error:
        raise BadRequest(
            f"The body is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})."
        ) from None
    except _BodyProblem as error:
        raise BadRequest(str(error)) from None
    except RecursionError:
        raise BadRequest(_too_deep()) from None


def _reject_constant(name: str) -> Any:
    raise _BodyProblem(f"The body contains {name}, which is not allowed. Use a finite number.")


def _parse_float(text: str) -> float:
    if len(text) > MAX_NUMBER_DIGITS:
        raise _BodyProblem(_too_long(text))
    value = float(text)
    if not math.isfinite(value):
        raise _BodyProblem(f"The number {text} is too large. Use a finite number.")
    return value


def _parse_int(text: str) -> int:
    if len(text) > MAX_NUMBER_DIGITS:
        raise _BodyProblem(_too_long(text))
    return int(text)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len(pairs) > MAX_KEYS:
        raise _BodyProblem(
            f"An object in the body has {len(pairs)} entries; at most {MAX_KEYS} are allowed."
        )
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _BodyProblem(
                    f"The key {json.dumps(key)} appears more than once in one object. "
                    "Give each answer once."
                )
            seen.add(key)
    return data


def _check_values(value: Any, depth: int) -> None:
    """Depth limit, and text that is real Unicode (JSON allows lone surrogate escapes)."""
    if depth > MAX_DEPTH:
        raise BadRequest(_too_deep())
    if isinstance(value, str):
        _check_text(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check_values(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_values(item, depth + 1)


def _check_text(text: str) -> None:
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(
            "The body contains a \\u escape that is not a whole character (a lone surrogate). "
            "Send text as real Unicode characters."
        ) from None


def _too_deep() -> str:
    return f"The body is nested too deeply: at most {MAX_DEPTH} levels are allowed."


def _too_long(text: str) -> str:
    return (
        f"A number in the body is {len(text)} characters long; at most {MAX_NUMBER_DIGITS} allowed."
    )


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"
