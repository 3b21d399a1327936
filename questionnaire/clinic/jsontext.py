"""JSON text made once and stored as it is.

A sent sheet's result is the same JSON the API answers with, and the app already keeps that
text per result (``questionnaire.web.resultcache``). Handing it to the database as ``JSONText``
stores it without turning it into Python objects and back into text on every send. The engine
writes JSON columns with ``dumps`` below (the ``json_serializer`` engine option); any other
serializer meets a ``JSONText`` as an object it cannot write, and fails loudly rather than
storing the text as a JSON string.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class JSONText:
    """The text of one JSON value, already serialized."""

    text: str


def dumps(value: Any) -> str:
    """What a JSON column stores for ``value``: its JSON, or the text of a JSONText."""
    if isinstance(value, JSONText):
        return value.text
    return json.dumps(value)
