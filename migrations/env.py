"""Alembic environment for Flask-Migrate: the engine and metadata come from the Flask app.

Logging is left to the application, so running migrations from the app or the tests does
not replace its handlers.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from flask import current_app

import questionnaire.clinic.models  # noqa: F401  (registers every table on the metadata)

config = context.config
target_db = current_app.extensions["migrate"].db


def run_migrations_offline() -> None:
    context.configure(
        url=target_db.engine.url.render_as_string(hide_password=False),
        target_metadata=target_db.metadata,
        literal_binds=True,
        compare_type=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    # No empty revision files when autogenerate finds nothing to change.
    def process_revision_directives(context_: Any, revision: Any, directives: list[Any]) -> None:
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", process_revision_directives)
    conf_args.setdefault("compare_type", True)
    # SQLite can alter few things in place; batch mode copies the table instead.
    conf_args.setdefault("render_as_batch", target_db.engine.dialect.name == "sqlite")

    with target_db.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # A migration that copies a table into a new one (batch mode) drops the old one;
            # with foreign keys on, that would first delete the rows that refer to it, by
            # ON DELETE CASCADE. They are off while migrations run (set outside any
            # transaction, as SQLite requires); such a migration checks every reference
            # before it commits.
            _driver(connection).execute("PRAGMA foreign_keys=OFF")
        try:
            context.configure(
                connection=connection, target_metadata=target_db.metadata, **conf_args
            )
            with context.begin_transaction():
                context.run_migrations()
        finally:
            if sqlite:
                # Never back in the pool with foreign keys off: the next connection is new,
                # with the app's settings. Each migration has committed by now; what is left
                # open is a read, of the version table.
                if connection.in_transaction():
                    connection.rollback()
                connection.invalidate()


def _driver(connection: Any) -> Any:
    """The driver's own connection: SQLite takes PRAGMA foreign_keys only between
    transactions, and every statement through SQLAlchemy begins one."""
    return connection.connection.driver_connection


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
