"""Whether the database's tables are the ones this version of the app was written for.

A server started on a database that ``questionnaire init-db`` has not made, or has not brought
up to date after an upgrade, would answer patients and staff with "not working right now"
pages, and its log would only say that the database was unavailable. So the servers' entry
point (``questionnaire.wsgi``) and gunicorn's configuration file check first, and stop with a
message saying what to run. A database that cannot be reached is an outage, not a mistake:
the server starts, and its pages say so until the database is back.
"""

from __future__ import annotations

import logging

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from flask import Flask
from sqlalchemy import inspect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from questionnaire.extensions import db
from questionnaire.web.config import ConfigError

log = logging.getLogger(__name__)

INIT_DB = "run 'questionnaire init-db' with the same settings, then start the server again"


class DatabaseNotReady(ConfigError):
    """The database's tables are missing, older than this version of the app, or newer."""


def check_schema(app: Flask) -> None:
    """Raise ``DatabaseNotReady`` unless the database is at the app's latest migration; log a
    warning and return when the database cannot be reached."""
    with app.app_context():
        where = db.engine.url.render_as_string(hide_password=True)
        try:
            with db.engine.connect() as connection:
                found = MigrationContext.configure(connection).get_current_heads()
                tables = bool(found) or bool(inspect(connection).get_table_names())
        except (DBAPIError, PoolTimeoutError) as error:
            log.warning(
                "could not reach the database to check its tables (%s); starting anyway",
                type(error).__name__,
            )
            return
        scripts = ScriptDirectory(app.extensions["migrate"].directory)
        problem = _problem(scripts, found) if tables else f"has no tables yet: {INIT_DB}."
    if problem:
        raise DatabaseNotReady(f"The database {where} {problem}")


def _problem(scripts: ScriptDirectory, found: tuple[str, ...]) -> str | None:
    """What is wrong with a database at revisions ``found``, or None when nothing is."""
    needed = tuple(scripts.get_heads())
    if set(found) == set(needed):
        return None
    if not found:
        return (
            "has tables but no record of their version, so 'questionnaire init-db' did not "
            "make them: serve the app from a database that it made."
        )
    try:
        for revision in found:
            scripts.get_revision(revision)
    except CommandError:
        return (
            f"is at version {', '.join(found)}, which this version of the app does not know: "
            "a newer version has changed its tables. Serve that version, or restore the "
            "database from a backup made before the change."
        )
    return (
        f"is at version {', '.join(found)}, and this version of the app needs "
        f"{', '.join(needed)}: {INIT_DB}."
    )
