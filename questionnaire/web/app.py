"""The application factory."""

from __future__ import annotations

import importlib
import os
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from questionnaire.clinic import commands as clinic_commands
from questionnaire.clinic.db_sqlite import configure_sqlite
from questionnaire.engine import RuleSet, load_ruleset
from questionnaire.extensions import csrf, db, limiter, login_manager, mail, migrate
from questionnaire.web.bodylimit import register_body_limit
from questionnaire.web.config import PROJECT_ROOT, load_config
from questionnaire.web.converters import register_converters
from questionnaire.web.errors import register_error_handlers
from questionnaire.web.flaskapp import QuestionnaireFlask
from questionnaire.web.links import install_link_cache
from questionnaire.web.logfilters import install_log_filters
from questionnaire.web.ratelimits import drop_idle_limit_check, install_storage_fallback
from questionnaire.web.requestguard import register_request_guard
from questionnaire.web.security import register_security
from questionnaire.web.sessions import register_sessions

# Each entry is "module:attribute" of a Blueprint; a feature adds its own line.
BLUEPRINTS: list[str] = [
    "questionnaire.web.api:bp",
    "questionnaire.web.patient:bp",
    "questionnaire.clinic.sending:bp",
    "questionnaire.clinic.auth:bp",
    "questionnaire.clinic.account:bp",
    "questionnaire.clinic.confirm:bp",
    "questionnaire.clinic.newphone:bp",
    "questionnaire.clinic.staffaccounts:bp",
    "questionnaire.clinic.dashboard:bp",
]


def build_app(test_config: dict[str, Any] | None = None) -> Flask:
    # Tests and operators may point the instance folder elsewhere (secrets, SQLite file).
    instance_path = (test_config or {}).get("INSTANCE_PATH") or os.environ.get(
        "QUESTIONNAIRE_INSTANCE_PATH"
    )
    app = QuestionnaireFlask(
        "questionnaire",
        instance_path=str(instance_path) if instance_path else None,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    load_config(app, test_config)
    app.extensions["ruleset"] = load_ruleset(app.config["RULES_DIR"])

    db.init_app(app)
    configure_sqlite(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    clinic_commands.init_app(app)
    register_body_limit(app)  # first: every later hook may read the body
    register_request_guard(app)  # before CSRF, so a NUL gets its own message
    csrf.init_app(app)
    # Templates get a lazy current_user instead (see questionnaire.web.sessions).
    login_manager.init_app(app, add_context_processor=False)
    register_sessions(app)
    limiter.init_app(app)
    mail.init_app(app)
    install_storage_fallback(app)

    register_converters(app)
    for target in BLUEPRINTS:
        module_name, _, attribute = target.partition(":")
        app.register_blueprint(getattr(importlib.import_module(module_name), attribute))
    drop_idle_limit_check(app)
    install_link_cache(app)
    register_security(app)
    register_error_handlers(app)
    install_log_filters(app.config["LOG_LEVEL"])
    if app.config["PROXY_HOPS"]:
        # Behind N trusted reverse proxies: take the client address and scheme from them,
        # so rate limits count per visitor and HSTS sees HTTPS.
        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops
        )
    # Last, so it can wrap the page error handlers: JSON under /api/, pages elsewhere.
    from questionnaire.web.api import register_api_error_handlers

    register_api_error_handlers(app)
    return app


def current_ruleset() -> RuleSet:
    from flask import current_app

    ruleset: RuleSet = current_app.extensions["ruleset"]
    return ruleset
