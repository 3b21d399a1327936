"""URL converters: ``<row_id:name>`` is the id of a database row.

Ids are positive and fit the databases' INTEGER (at most 2**31 - 1). Anything else in that
place of an address (0, a sign, a number too big for the column) matches no route and gets
the usual 404 page, rather than reaching a query that PostgreSQL refuses with an error.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter, Map

LARGEST_ROW_ID = 2**31 - 1


class RowIdConverter(IntegerConverter):
    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        super().__init__(url_map, min=1, max=LARGEST_ROW_ID)


def register_converters(app: Flask) -> None:
    """Call before any blueprint is registered: their rules are bound as they are added."""
    app.url_map.converters["row_id"] = RowIdConverter
