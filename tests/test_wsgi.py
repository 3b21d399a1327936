"""The servers' entry point builds the app once, warms it up and puts what it loaded out of the
garbage collector's way."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CHECK = """
import gc
import questionnaire.wsgi as entry
from flask import Flask
assert isinstance(entry.app, Flask), type(entry.app)
env = entry.app.jinja_env
assert env.cache is not None and len(env.cache) == len(env.list_templates()), "not warmed up"
print(gc.get_freeze_count())
"""


def test_the_wsgi_module_builds_warms_and_freezes_the_app(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "QUESTIONNAIRE_INSTANCE_PATH": str(tmp_path / "instance"),
        "SECRET_KEY": "test-secret-key-not-for-production",
        "SECURE_COOKIES": "0",
    }
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    # The operator makes the tables first: the entry point refuses a database without them.
    made = subprocess.run(
        [str(Path(sys.executable).parent / "questionnaire"), "init-db"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    # In a process of its own: freezing is for the server's, not for this test run's.
    done = subprocess.run(
        [sys.executable, "-c", CHECK], env=env, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 50_000, "the app's objects were not frozen"


def test_under_any_server_a_bad_setting_ends_loading_with_its_message(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "QUESTIONNAIRE_INSTANCE_PATH": str(tmp_path / "instance"),
        "SECRET_KEY": "test-secret-key-not-for-production",
        "SECURE_COOKIES": "0",
        "PROXY_HOPS": "abc",
    }
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    # As a server that is not gunicorn loads it: an import that fails, reported as it reports
    # any other (gunicorn prints the message alone: tests/test_server_start.py).
    done = subprocess.run(
        [sys.executable, "-c", "import questionnaire.wsgi"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == (
        "questionnaire.wsgi.BadSetting: PROXY_HOPS='abc' is not allowed: use a whole number "
        "from 0 to 10"
    )
    assert done.stderr.count("Traceback") == 1, "the message comes without the errors beneath it"
