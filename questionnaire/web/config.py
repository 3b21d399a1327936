"""Configuration: defaults, then the instance folder's config.py, then the environment.

Secrets never live in the repository: ``SECRET_KEY`` comes from the environment or from
``instance/secret_key`` (created on first start with owner-only permissions).

A setting the app cannot use stops it at start with a ``ConfigError`` whose message names the
setting and what is allowed; ``setting_errors`` turns the errors that other parts raise for a
bad setting into one too. A service that is down (PostgreSQL, Redis, the mail server) is not
a bad setting: the app starts, and copes while it is down.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import limits
from flask import Flask
from sqlalchemy.engine import make_url

from questionnaire.clinic import jsontext
from questionnaire.web import ratestorage
from questionnaire.web.mailurl import MailSettingError, checked_sender, mail_settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]

WORKER_MEMORY = f"{ratestorage.SCHEME}://"
IN_MEMORY = (WORKER_MEMORY, "memory://")
DEFAULTS: dict[str, Any] = {
    "RULES_DIR": str(PROJECT_ROOT / "rules"),
    "SQLALCHEMY_DATABASE_URI": None,  # filled in from DATABASE_URL or the instance folder
    # Database errors must not echo bound values: they hold patients' names and answers.
    "SQLALCHEMY_ENGINE_OPTIONS": {"hide_parameters": True},
    "REDIS_URL": None,
    # Cookies: Secure is on unless explicitly turned off for plain-HTTP local runs.
    "SECURE_COOKIES": True,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "WTF_CSRF_TIME_LIMIT": None,
    "MAX_CONTENT_LENGTH": 256 * 1024,
    # Patient answers live in the signed session cookie: keep them for a sitting, not a month,
    # since people fill this in on shared computers too.
    "PERMANENT_SESSION_LIFETIME": timedelta(hours=3),
    # Re-signing the cookie on every page view costs time on each request; the lifetime
    # then counts from the last answer saved, which is what "a sitting" means here.
    "SESSION_REFRESH_EACH_REQUEST": False,
    "STAFF_IDLE_TIMEOUT_SECONDS": 30 * 60,
    "STAFF_ABSOLUTE_TIMEOUT_SECONDS": 12 * 60 * 60,
    # Canonical URL of the FHIR Questionnaire; unset, this server's own address is used.
    "FHIR_QUESTIONNAIRE_URL": None,
    "RATELIMIT_ENABLED": True,
    # Counts in this worker's memory (see ratestorage.py); in Redis when REDIS_URL is set.
    "RATELIMIT_STORAGE_URI": WORKER_MEMORY,
    "RATELIMIT_HEADERS_ENABLED": False,
    # Per client address (Flask-Limiter syntax): POST /api/v1/evaluate, and /sheet.pdf.
    "API_RATE_LIMIT": "120 per minute",
    "PDF_RATE_LIMIT": "20 per minute",
    "LOG_LEVEL": "INFO",
    # How many reverse proxies in front of the app to trust for X-Forwarded-* (0: none).
    "PROXY_HOPS": 0,
    # Security notices to staff by email (clinic/notices.py): off until MAIL_URL is set.
    "MAIL_URL": None,
    "MAIL_FROM": None,
    "MAIL_TIMEOUT": 10,  # seconds to wait for the mail server
}

# Environment variables read at start-up, and the config key each one sets.
ENVIRONMENT = {
    "SECRET_KEY": "SECRET_KEY",
    "DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "REDIS_URL": "REDIS_URL",
    "RULES_DIR": "RULES_DIR",
    "SECURE_COOKIES": "SECURE_COOKIES",
    "LOG_LEVEL": "LOG_LEVEL",
    "PROXY_HOPS": "PROXY_HOPS",
    "MAIL_URL": "MAIL_URL",
    "MAIL_FROM": "MAIL_FROM",
}
RATE_LIMIT_KEYS = ("API_RATE_LIMIT", "PDF_RATE_LIMIT")
REDIS_SCHEMES = ("redis", "rediss", "redis+unix")
STORAGE_TIMEOUT = 1.0  # seconds
# How long a new PostgreSQL connection may take before the request (or the start-up check of
# the tables) gives up and says the database is unavailable; an operator's own
# ``connect_timeout``, in DATABASE_URL or in the engine's connect_args, is kept.
POSTGRESQL_CONNECT_TIMEOUT = 5  # seconds
_BOOLEAN_KEYS = {"SECURE_COOKIES"}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_INTEGER_KEYS = {"PROXY_HOPS"}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ConfigError(click.ClickException, RuntimeError):
    """A setting is missing or has a value that is not allowed.

    It is a ``click.ClickException`` too, because Flask's command line builds the app itself
    and lets what ``create_app`` raises through: ``flask --app questionnaire run`` (or any
    command) then prints ``Error:`` and the message and exits with status 1, not a traceback.
    """


DATABASE_FORMS = "sqlite:///path/to/file.sqlite3 or postgresql://user:password@host:port/database"
REDIS_FORMS = "redis://host:port, rediss://host:port or redis+unix:///path/to/socket"
WRITABLE_INSTANCE = "QUESTIONNAIRE_INSTANCE_PATH to a folder the app may write to"


def database_url_message(reason: str) -> str:
    start = "DATABASE_URL is not a database address the app can use"
    return f"{start} ({reason}); use {DATABASE_FORMS}"


def redis_url_message(reason: str | None = None) -> str:
    because = f" ({reason})" if reason else ""
    return f"REDIS_URL is not a storage address the app can use{because}; use {REDIS_FORMS}"


@contextlib.contextmanager
def setting_errors() -> Iterator[None]:
    """Around building the app: what the rule loader and the rate-limit storage raise for a
    setting they cannot use becomes a ConfigError, so that whoever starts the app (a server,
    an operator command) has one error to report, with a message and no traceback."""
    from limits.errors import ConfigurationError

    from questionnaire.engine import RulesetError

    try:
        yield
    except RulesetError as error:
        raise ConfigError(f"RULES_DIR does not hold a rule set the app can use:\n{error}") from None
    except ConfigurationError:
        # Not said back: the address may hold a password.
        raise ConfigError(redis_url_message()) from None


def load_config(app: Flask, test_config: dict[str, Any] | None) -> None:
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    for env_name, key in ENVIRONMENT.items():
        value = os.environ.get(env_name)
        if value is None or value == "":
            continue
        if key in _BOOLEAN_KEYS:
            app.config[key] = _parse_bool(env_name, value)
        elif key in _INTEGER_KEYS:
            app.config[key] = _parse_int(env_name, value)
        else:
            app.config[key] = value
    if test_config:
        app.config.from_mapping(test_config)
    _finish(app)


def _parse_bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(
        f"{name}={value!r} is not allowed: use one of 1, true, yes, on, 0, false, no, off"
    )


def _log_level(value: object) -> str:
    level = str(value).strip().upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL={value!r} is not allowed: use one of {', '.join(LOG_LEVELS)}")
    return level


def _parse_int(name: str, value: str) -> int:
    if value.strip().isascii() and value.strip().isdigit() and int(value) <= 10:
        return int(value)
    raise ConfigError(f"{name}={value!r} is not allowed: use a whole number from 0 to 10")


def _finish(app: Flask) -> None:
    app.config["LOG_LEVEL"] = _log_level(app.config["LOG_LEVEL"])
    # The instance folder is made only when something is kept there, so that an instance
    # given both SECRET_KEY and DATABASE_URL may run on a read-only file system.
    instance = Path(app.instance_path)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(instance)
    uri = app.config.get("SQLALCHEMY_DATABASE_URI")
    if not uri:
        _make_folder(
            instance,
            "DATABASE_URL is not set, and the instance folder cannot hold the SQLite database",
            f"set DATABASE_URL, or {WRITABLE_INSTANCE}",
        )
        uri = f"sqlite:///{instance / 'questionnaire.sqlite3'}"
    elif uri.startswith("postgres://"):
        uri = "postgresql+psycopg://" + uri.removeprefix("postgres://")
    elif uri.startswith("postgresql://"):
        uri = "postgresql+psycopg://" + uri.removeprefix("postgresql://")
    _check_database_uri(uri)
    app.config["SQLALCHEMY_DATABASE_URI"] = uri
    # An operator's options add to the app's own (which keep patient data out of errors).
    options = {
        **DEFAULTS["SQLALCHEMY_ENGINE_OPTIONS"],
        "json_serializer": jsontext.dumps,
        **app.config["SQLALCHEMY_ENGINE_OPTIONS"],
    }
    if options["json_serializer"] is not jsontext.dumps:
        raise ConfigError(
            "SQLALCHEMY_ENGINE_OPTIONS['json_serializer'] is not allowed: the app sets it, so "
            "that results written once as JSON are stored as they are (clinic/jsontext.py)"
        )
    if uri.startswith("postgresql") and "connect_timeout" not in make_url(uri).query:
        options["connect_args"] = {
            "connect_timeout": POSTGRESQL_CONNECT_TIMEOUT,
            **(options.get("connect_args") or {}),
        }
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    if app.config.get("REDIS_URL") and app.config["RATELIMIT_STORAGE_URI"] in IN_MEMORY:
        app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"]
    _check_storage_uri(app.config["RATELIMIT_STORAGE_URI"])
    app.config["RATELIMIT_STORAGE_OPTIONS"] = _storage_options(
        app.config["RATELIMIT_STORAGE_URI"], app.config.get("RATELIMIT_STORAGE_OPTIONS") or {}
    )
    for key in RATE_LIMIT_KEYS:
        _check_rate_limit(key, app.config[key])
    secure = bool(app.config["SECURE_COOKIES"])
    app.config["SESSION_COOKIE_SECURE"] = secure
    app.config["REMEMBER_COOKIE_SECURE"] = secure
    # The __Host- prefix pins the cookie to this host and path "/", and needs Secure.
    app.config["SESSION_COOKIE_NAME"] = "__Host-session" if secure else "session"
    _mail(app)


def _mail(app: Flask) -> None:
    """Notices go out through MAIL_URL, or through a Flask-Mailman backend that an
    operator's config.py chose itself (MAIL_BACKEND); either way from MAIL_FROM."""
    config = app.config
    try:
        if config.get("MAIL_URL"):
            config.update(mail_settings(config["MAIL_URL"], config.get("MAIL_FROM")))
        elif config.get("MAIL_BACKEND"):
            sender = config.get("MAIL_FROM") or config.get("MAIL_DEFAULT_SENDER")
            config["MAIL_DEFAULT_SENDER"] = checked_sender(sender)
    except MailSettingError as error:
        raise ConfigError(str(error)) from None


def _check_database_uri(uri: str) -> None:
    """The address can be read, names a kind of database SQLAlchemy knows and whose driver is
    installed, and any port is a real one. Nothing is connected to: a database that is down
    now is an outage the app copes with, not a bad setting."""
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(uri)
    except ValueError:
        # The port did not read as a number; not said back, as it may be a misplaced password.
        raise ConfigError(database_url_message("the host or port cannot be read")) from None
    except ArgumentError as error:
        raise ConfigError(database_url_message(str(error))) from None
    if url.port is not None and not 1 <= url.port <= 65535:
        raise ConfigError(database_url_message("the port is not a number from 1 to 65535"))
    try:
        url.get_dialect().import_dbapi()
    except (ArgumentError, ImportError) as error:  # an unknown kind, or its driver is missing
        raise ConfigError(database_url_message(str(error))) from None


def _check_storage_uri(uri: str) -> None:
    """A Redis address is read the way the Redis client will read it, without connecting."""
    if uri.split("://", 1)[0] not in REDIS_SCHEMES:
        return
    from redis.connection import parse_url

    try:
        parts = urlsplit(uri)
    except ValueError as error:  # such as an IPv6 address without its closing bracket
        raise ConfigError(redis_url_message(str(error))) from None
    try:
        port = parts.port
    except ValueError:
        port = 0  # not said back: it may be a misplaced password
    if port == 0:
        raise ConfigError(redis_url_message("the port is not a number from 1 to 65535"))
    try:
        parse_url(uri.replace("redis+unix://", "unix://", 1))
    except ValueError as error:  # a query argument the client cannot read
        raise ConfigError(redis_url_message(str(error))) from None


def _storage_options(uri: str, given: dict[str, Any]) -> dict[str, Any]:
    """Errors of the rate-limit storage come wrapped, for the fallback that takes them
    (web/ratelimits.py), and a Redis that does not answer is given up on within a second
    rather than holding the request; an operator's own options win."""
    options: dict[str, Any] = {"wrap_exceptions": True}
    if uri.split("://", 1)[0] in REDIS_SCHEMES:
        options.update(socket_connect_timeout=STORAGE_TIMEOUT, socket_timeout=STORAGE_TIMEOUT)
    return {**options, **given}


def _check_rate_limit(key: str, value: object) -> None:
    try:
        if isinstance(value, str) and len(limits.parse_many(value)) == 1:
            return
    except ValueError:
        pass
    raise ConfigError(
        f"{key}={value!r} is not allowed: write a rate limit as '<count> per <second, minute, "
        "hour or day>', for example '60 per minute'"
    )


def _instance_secret(instance: Path) -> str:
    """The key kept in the instance folder, made there at the first start."""
    path = instance / "secret_key"
    unusable = "SECRET_KEY is not set, and the instance folder cannot keep one"
    remedy = (
        f"set SECRET_KEY to a long random value, the same on every instance, or {WRITABLE_INSTANCE}"
    )
    _make_folder(instance, unusable, remedy)
    try:
        if not path.exists():
            _write_new_secret(path)
        key = path.read_text().strip()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{unusable} ({_reason(error, path)}): {remedy}") from None
    if not key:
        raise ConfigError(
            f"SECRET_KEY is not set, and {path} holds no key: delete that file so that a new "
            "key is made there, or set SECRET_KEY to a long random value, the same on every "
            "instance"
        )
    return key


def _write_new_secret(path: Path) -> None:
    """Written whole under another name, then linked into place: workers starting together
    all read the one key that got there first, never a file still being written."""
    fd, draft = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")  # owner-only
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        # Another worker's key may be in place already: then everyone uses that one.
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
    finally:
        os.unlink(draft)


def _make_folder(folder: Path, unusable: str, remedy: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError(f"{unusable} ({folder}: a file, not a folder): {remedy}") from None
    except OSError as error:
        raise ConfigError(f"{unusable} ({_reason(error, folder)}): {remedy}") from None


def _reason(error: OSError | UnicodeDecodeError, path: Path) -> str:
    if isinstance(error, UnicodeDecodeError):
        return f"{path}: not text"
    return f"{error.filename or path}: {error.strerror or error}"
