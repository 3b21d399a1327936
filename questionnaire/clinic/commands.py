"""Operator commands: set up the database, clinics and staff accounts; purge old submissions.

They are added to the ``questionnaire`` console script with ``register(cli)`` and to
``flask`` with ``init_app(app)``. Flask and the database are imported only when one of them
runs, so the rule commands of the console script stay light. Passwords are never taken as
arguments (they would stay in the shell history and the process list): they are read from a
hidden prompt, or from standard input when it is not a terminal.
"""

from __future__ import annotations

import functools
import secrets
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from flask import Flask

DEMO_SLUG = "demo"
DEMO_NAME = "Demo Pain Clinic"
DEMO_EMAIL = "demo@example.org"
DEMO_DISPLAY_NAME = "Demo administrator"
# 100 years: older than any submission, and far from the end of the calendar.
MAX_PURGE_DAYS = 36500

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def _app_context() -> Iterator[None]:
    """The running app's context under ``flask``; a new app's under ``questionnaire``."""
    from flask import has_app_context

    if has_app_context():
        yield
        return
    with _load_app().app_context():
        yield


def _load_app() -> Flask:
    """The app to run the command in; a setting that stops it starting becomes a message."""
    from flask.cli import ScriptInfo

    from questionnaire.web.config import ConfigError, setting_errors

    info = click.get_current_context().find_object(ScriptInfo)
    try:
        with setting_errors():  # also for an app that ``flask --app`` names
            if info is not None and info.create_app is not None:
                return info.load_app()
            from questionnaire import create_app

            return create_app()
    except ConfigError as error:
        raise click.ClickException(str(error)) from None


def _database_command(function: F) -> F:
    """Run inside an app context; turn refused writes and database errors into messages."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from sqlalchemy.exc import SQLAlchemyError

        from questionnaire.clinic.store import StoreError

        with _app_context():
            try:
                return function(*args, **kwargs)
            except StoreError as error:
                raise click.ClickException(str(error)) from None
            except SQLAlchemyError as error:
                reason = getattr(error, "orig", None) or error.__class__.__name__
                raise click.ClickException(
                    f"the database refused the command ({reason}); "
                    "check DATABASE_URL, and that 'init-db' has been run"
                ) from None

    return wrapper  # type: ignore[return-value]


@click.command("init-db")
@_database_command
def init_db() -> None:
    """Create or upgrade the database tables to the latest version."""
    from flask_migrate import upgrade

    from questionnaire.extensions import db

    upgrade()
    click.echo(f"Database is up to date ({db.engine.url.render_as_string(hide_password=True)}).")


@click.command("create-clinic")
@click.option("--slug", required=True, help="Short name used in the clinic's link, e.g. 'north'.")
@click.option("--name", required=True, help="The clinic's name as patients will see it.")
@_database_command
def create_clinic(slug: str, name: str) -> None:
    """Add a clinic that patients can send their answers to."""
    from flask import url_for

    from questionnaire.clinic import store

    clinic = store.create_clinic(slug, name)
    click.echo(f"Created clinic {clinic.slug!r} ({clinic.name}).")
    with _request_context():
        click.echo(f"Patients start at {url_for('sending.start', clinic_slug=clinic.slug)}")


@click.command("create-user")
@click.option("--clinic", "clinic_slug", required=True, help="Slug of the clinic.")
@click.option("--email", required=True, help="Sign-in email address.")
@click.option("--name", "display_name", required=True, help="The person's name.")
@click.option(
    "--role",
    type=click.Choice(["staff", "admin"]),
    default="staff",
    show_default=True,
    help="admin may also manage accounts.",
)
@_database_command
def create_user(clinic_slug: str, email: str, display_name: str, role: str) -> None:
    """Add a staff account. The password is asked for, or read from standard input; the
    person replaces it with their own at their first sign-in."""
    from questionnaire.clinic import store
    from questionnaire.clinic.passwords import check_password_policy, hash_password

    clinic = store.get_clinic_by_slug(clinic_slug)
    if clinic is None:
        raise click.ClickException(
            f"there is no clinic with slug {clinic_slug!r}; create it with 'create-clinic'"
        )
    if store.find_staff_user_by_email(email) is not None:
        raise click.ClickException(f"a staff account with email {email.strip().lower()!r} exists")
    password = _read_password()
    problems = check_password_policy(password, email=email)
    if problems:
        raise click.ClickException("the password is not allowed: " + "; ".join(problems))
    user = store.create_staff_user(
        clinic.id,
        email,
        display_name,
        role,
        hash_password(password),
        must_change_password=True,
    )
    click.echo(
        f"Created {user.role} account {user.email} in clinic {clinic.slug!r}. At the first "
        "sign-in they set up a sign-in code and choose their own password."
    )


@click.command("enable-user")
@click.option("--email", required=True, help="Sign-in email address of the account.")
@_database_command
def enable_user(email: str) -> None:
    """Turn back on a staff account that was turned off. Its old password and sign-in code
    stay unusable: the first password is asked for, or read from standard input; with it
    the person sets up a new sign-in code and chooses their own password."""
    from questionnaire.clinic import store
    from questionnaire.clinic.passwords import check_password_policy, hash_password

    user = store.find_staff_user_by_email(email)
    if user is None:
        raise click.ClickException(
            f"there is no staff account with email {email.strip().lower()!r}"
        )
    if user.disabled_at is None:
        click.echo(f"The account {user.email} is not turned off; nothing was changed.")
        return
    password = _read_password()
    problems = check_password_policy(password, email=user.email)
    if problems:
        raise click.ClickException("the password is not allowed: " + "; ".join(problems))
    store.reset_sign_in(user, hash_password(password), by_user_id=None)
    click.echo(
        f"Turned the account {user.email} back on. Give the person the first password: with "
        "it they set up a new sign-in code and choose their own password."
    )


@click.command("purge")
@click.option(
    "--older-than",
    "days",
    required=True,
    type=click.IntRange(min=1, max=MAX_PURGE_DAYS),
    metavar="DAYS",
    help=(
        "Delete submissions created more than DAYS days ago "
        f"(a whole number from 1 to {MAX_PURGE_DAYS}, which is 100 years)."
    ),
)
@_database_command
def purge(days: int) -> None:
    """Delete old submissions from every clinic. The audit log is kept."""
    from questionnaire.clinic import store

    count = store.purge_older_than(days)
    click.echo(f"Deleted {count} submission(s) older than {days} days.")


@click.command("demo")
@_database_command
def demo() -> None:
    """Create the demo clinic and its administrator; prints the password once."""
    from questionnaire.clinic import store
    from questionnaire.clinic.passwords import hash_password

    clinic = store.get_clinic_by_slug(DEMO_SLUG) or store.create_clinic(DEMO_SLUG, DEMO_NAME)
    if store.find_staff_user_by_email(DEMO_EMAIL) is not None:
        click.echo(
            f"The demo clinic {DEMO_SLUG!r} and account {DEMO_EMAIL} already exist; "
            "the password was shown when they were created."
        )
        return
    password = secrets.token_urlsafe(18)
    store.create_staff_user(
        clinic.id, DEMO_EMAIL, DEMO_DISPLAY_NAME, "admin", hash_password(password)
    )
    click.echo(f"Created the demo clinic {DEMO_SLUG!r} ({DEMO_NAME}).")
    click.echo(f"Staff sign-in: {DEMO_EMAIL}")
    click.echo(f"Password (shown only this once): {password}")


COMMANDS = (init_db, create_clinic, create_user, enable_user, purge, demo)


def register(group: click.Group) -> None:
    """Add the operator commands to a click group (the ``questionnaire`` console script)."""
    for command in COMMANDS:
        group.add_command(command)


def init_app(app: Flask) -> None:
    """Add the operator commands to ``flask`` for this app."""
    for command in COMMANDS:
        app.cli.add_command(command)


def _read_password() -> str:
    stdin = sys.stdin
    if stdin.isatty():
        password: str = click.prompt(
            "Password (12 characters or more)", hide_input=True, confirmation_prompt=True
        )
        return password
    line = stdin.readline()
    if not line:
        raise click.ClickException("no password given: type it at the prompt or pipe it in")
    return line.rstrip("\r\n")


@contextmanager
def _request_context() -> Iterator[None]:
    # url_for outside a request needs SERVER_NAME; a path is enough here.
    from flask import current_app

    with current_app.test_request_context("/"):
        yield
