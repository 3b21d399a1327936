"""Throw-away PostgreSQL databases, for tests and benchmarks.

``fresh_postgres_database`` makes a new, empty database with a unique name on a server where
the admin user may create databases, by default the shared server on 127.0.0.1:5432, and
drops it afterwards however the block ends (``WITH (FORCE)``, so connections left open do not
keep it). Tests import this module as ``support.pgdatabase``: pytest puts tests/ on
``sys.path``, as the folder of the top conftest.py. Benchmarks add tests/ themselves.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import TupleRow

# A libpq DSN for the server, without dbname: the admin connection uses "postgres".
ADMIN = "host=127.0.0.1 port=5432 user=postgres"
CONNECT_TIMEOUT = 3


def admin_connection(admin: str = ADMIN) -> psycopg.Connection[TupleRow]:
    """An autocommit connection to the server's "postgres" database, as ``admin``."""
    timeout = conninfo_to_dict(admin).get("connect_timeout", CONNECT_TIMEOUT)
    conninfo = make_conninfo(admin, dbname="postgres", connect_timeout=timeout)
    return psycopg.connect(conninfo, autocommit=True)


def postgres_reachable(admin: str = ADMIN) -> bool:
    try:
        with admin_connection(admin) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


def database_url(name: str, admin: str = ADMIN) -> str:
    """The SQLAlchemy URL of database ``name`` on the server of ``admin``."""
    options = conninfo_to_dict(admin)
    user = options.get("user", "postgres")
    host = options.get("host", "127.0.0.1")
    port = options.get("port", "5432")
    return f"postgresql://{user}@{host}:{port}/{name}"


@contextmanager
def fresh_postgres_database(prefix: str, admin: str = ADMIN) -> Iterator[str]:
    """A new, empty database named ``<prefix>_<random hex>``: yields its name, then drops it."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    with admin_connection(admin) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        with admin_connection(admin) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
