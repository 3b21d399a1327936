"""The WSGI entry point for servers: ``gunicorn 'questionnaire.wsgi:app'``.

Each worker process builds the app once, and what it loads (the rule set, templates, models,
compiled expressions: about 150,000 objects) lives as long as the process. The worker then
compiles its templates and draws the rule set's page fragments (``web.warmup``), so its first
requests are as quick as the rest.

``gc.freeze()`` then puts all those objects out of the cyclic garbage collector's reach, so a
full collection walks only what requests have made since. Without it each full collection
walked them all, a 70 ms pause that any request could run into. Objects the app drops later
are still freed as usual when nothing refers to them.
"""

from __future__ import annotations

import gc

from questionnaire import create_app
from questionnaire.web.warmup import warm_up

app = create_app()
warm_up(app)
gc.freeze()
