"""gunicorn's configuration for the app: ``gunicorn --config deploy/gunicorn.conf.py ...
'questionnaire.wsgi:app'`` (see docs/deployment.md; `make run` starts it so).

It checks the app's settings once, in gunicorn's master, before any worker starts, and that
the database's tables are up to date (``questionnaire.clinic.schema``). Without
it each worker finds a setting the app cannot use for itself and prints its message, so with
``--workers 4`` the operator may read it four times, and gunicorn may add a traceback of its
own as two workers fail together. Here the message is printed once and gunicorn exits with
status 4 (its status for an app that fails to load) before it listens or starts a worker.

The check builds the app in a child process that then exits: the master itself imports none
of the app, so workers started after a reload (``kill -HUP``) still load the app's code anew,
and it holds no app, database engine or log handler of its own. An error that is not a
setting is left to the workers, which report it as gunicorn reports any app that fails to
load.

Options such as ``--bind`` and ``--workers`` stay on the command line. The file is kept out
of the project's root on purpose: gunicorn reads ``./gunicorn.conf.py`` by itself, for every
server started there, the benchmarks' bare apps included.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gunicorn.arbiter import Arbiter

# gunicorn's exit status for an app that fails to load (Arbiter.APP_LOAD_ERROR).
BAD_SETTING = 4
# The child's status for any other failure: the workers then report it themselves.
OTHER_ERROR = 1


def on_starting(server: Arbiter) -> None:
    """Before the master listens or starts a worker: stop on a setting the app cannot use."""
    if server.cfg.preload_app:
        return  # the master has loaded the app already, so its settings are good
    if check_settings() == BAD_SETTING:
        if server.pidfile is not None:
            server.pidfile.unlink()
        sys.exit(BAD_SETTING)


def check_settings() -> int:
    """Build the app in a child process, which prints the message of a setting the app cannot
    use; its exit status: 0, ``BAD_SETTING`` or another status for any other failure."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        status = OTHER_ERROR
        try:
            status = _build_app()
        finally:
            os._exit(status)  # whatever happens, the child never goes on as a master
    try:
        _, status = os.waitpid(pid, 0)
    except KeyboardInterrupt:  # Ctrl-C reaches the child too, which stops
        sys.exit(1)
    return os.waitstatus_to_exitcode(status)


def _build_app() -> int:
    """In the child: build the app, and say why not if a setting stops it."""
    try:
        from questionnaire import create_app
        from questionnaire.clinic.schema import check_schema
        from questionnaire.web.config import ConfigError

        try:
            check_schema(create_app())
        except ConfigError as error:
            print(error, file=sys.stderr)
            return BAD_SETTING
        return 0
    except BaseException:
        return OTHER_ERROR
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
