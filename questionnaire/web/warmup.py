"""Work a server's worker does once, as it starts, instead of in the first requests it serves.

A worker compiles each template the first time a request needs it, and draws the rule set's
page and guide fragments (``prerender``) the first time a page shows them: about 30 ms for
the first question page, 10 ms for the start page. A server runs several workers and hands
each connection to whichever takes it, so those first requests fall at random through the
first minutes of load, each a slow answer for a patient. ``warm_up`` does all of it before
the worker takes its first connection.

With template auto-reload on (debug), nothing is kept between requests, so there is nothing
to warm.
"""

from __future__ import annotations

from flask import Flask

from questionnaire.web.app import current_ruleset
from questionnaire.web.prerender import page_controls, section_bodies


def warm_up(app: Flask) -> int:
    """Compile every template of ``app`` and draw its rule set's fragments; returns how many
    templates were compiled."""
    env = app.jinja_env
    if env.auto_reload:
        return 0
    names = env.list_templates()
    for name in names:
        env.get_template(name)
    with app.app_context():
        rs = current_ruleset()
        page_controls(rs)
        section_bodies(rs)
    return len(names)
