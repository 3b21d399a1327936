"""The Flask class this app runs on: Flask, with its check for ``async def`` functions made
once per function.

On every request Flask asks of each hook and of the view whether it is an ``async def``
function (``Flask.ensure_sync``), a dozen times per request at about a microsecond each, and
the answer for a function never changes. Flask's documentation invites overriding the method;
this one remembers each answer. Functions are few (the app's views and hooks), but the memo
is bounded all the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask

MAX_REMEMBERED = 1024


class QuestionnaireFlask(Flask):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._synced: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        try:
            return self._synced[func]
        except KeyError:
            synced = super().ensure_sync(func)
            if len(self._synced) < MAX_REMEMBERED:
                self._synced[func] = synced
            return synced
        except TypeError:  # an unhashable callable: ask Flask every time
            return super().ensure_sync(func)
