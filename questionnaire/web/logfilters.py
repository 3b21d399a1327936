"""The app's log: kept free of patient data, at the level ``LOG_LEVEL`` sets.

Staff search the dashboard by patient name (``/clinic/?q=...``); the development server logs
every request line with its query string. The filter keeps the path and drops the query.

The app's own records (loggers under ``questionnaire``) are kept from ``LOG_LEVEL`` up. When
the server has set up no handler for them (gunicorn sets up only its own loggers), they go to
standard error with their time, level and logger, beside the server's lines; otherwise Python
would print only the bare message of a warning and drop everything below it.
"""

from __future__ import annotations

import logging
import re

_QUERY = re.compile(r"\?\S*")


class DropQueryStrings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(
                _QUERY.sub("", arg) if isinstance(arg, str) else arg for arg in record.args
            )
        if isinstance(record.msg, str):
            record.msg = _QUERY.sub("", record.msg)
        return True


class _AppLogHandler(logging.StreamHandler):
    """Standard error, for the app's records when nothing else takes them."""


LOG_FORMAT = "[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s"


def install_log_filters(level: str) -> None:
    werkzeug = logging.getLogger("werkzeug")
    if not any(isinstance(f, DropQueryStrings) for f in werkzeug.filters):
        werkzeug.addFilter(DropQueryStrings())
    ours = logging.getLogger("questionnaire")
    ours.setLevel(level)
    if not ours.handlers and not logging.getLogger().handlers:
        handler = _AppLogHandler()
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        ours.addHandler(handler)
