"""The WSGI entry point for servers: ``gunicorn 'questionnaire.wsgi:app'``.

Each worker process builds the app once, and what it loads (the rule set, templates, models,
compiled expressions: about 150,000 objects) lives as long as the process. The worker then
compiles its templates and draws the rule set's page fragments (``web.warmup``), so its first
requests are as quick as the rest.

``gc.freeze()`` then puts all those objects out of the cyclic garbage collector's reach, so a
full collection walks only what requests have made since. Without it each full collection
walked them all, a 70 ms pause that any request could run into. Objects the app drops later
are still freed as usual when nothing refers to them.

A setting the app cannot use (see ``web.config``), or a database whose tables ``questionnaire
init-db`` has not made or brought up to date (``clinic.schema``), raises ``BadSetting``:
gunicorn then prints its message alone and stops, where it prints a traceback for any other
error; other servers report it as they report any app that fails to load, ending with the
message. Each gunicorn worker finds it for itself, so several workers print it several times:
gunicorn started with ``--config deploy/gunicorn.conf.py`` checks once, before any worker
starts, and prints it once.
"""

from __future__ import annotations

import gc

from gunicorn.errors import AppImportError

from questionnaire import create_app
from questionnaire.clinic.schema import check_schema
from questionnaire.web.config import ConfigError
from questionnaire.web.warmup import warm_up


class BadSetting(ConfigError, AppImportError):
    """A ConfigError that gunicorn takes for an app that cannot load: its workers print the
    message and gunicorn stops ("App failed to load"); with ``--preload``, being a
    RuntimeError, it prints "Error:" and the message and stops."""


try:
    app = create_app()
    check_schema(app)
except ConfigError as error:
    raise BadSetting(str(error)) from None
warm_up(app)
gc.freeze()
