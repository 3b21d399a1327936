"""Fixtures of the hardening tests; the helpers they use live in harness.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from harness import POSTGRES
from support.pgdatabase import fresh_postgres_database, postgres_reachable

SHARED_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"

Require = Callable[[bool, str], None]


@pytest.fixture(scope="session")
def require(pytestconfig: pytest.Config) -> Require:
    """``require`` from tests/conftest.py: skip on a developer machine, fail on CI.

    Every conftest.py outside a package is the module "conftest", so the shared one is
    reached through the plugin manager, which keeps it under its path.
    """
    shared = pytestconfig.pluginmanager.get_plugin(str(SHARED_CONFTEST))
    assert shared is not None, f"{SHARED_CONFTEST} was not loaded"
    function: Require = shared.require
    return function


@pytest.fixture
def pg_database(require: Require) -> Iterator[str]:
    """The name of a fresh PostgreSQL database, dropped after the test."""
    require(postgres_reachable(), POSTGRES)
    with fresh_postgres_database("security") as name:
        yield name
