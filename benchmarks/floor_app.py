"""The floor under the send path: the required stack doing the least a send can do.

``send_bench.py`` measures it in the same run as the real send path and the bare hello, so
the figures show how much of a send's cost is the stack itself (Flask, its signed-cookie
session, Flask-WTF's CSRF check, one row written through Flask-SQLAlchemy and committed) and
how much is the questionnaire's own (rate limits, security headers, checking the form and the
answers, the audit row, the dashboard's indexes).

It has what a send cannot do without, and nothing more:

- ``GET /c/bench/`` puts a patient's answers in the session, as walking the form does;
- ``GET /send`` draws a form with a CSRF token and an idempotency key;
- ``POST /send`` checks the CSRF token, reads the details, stores one row holding the
  answers and the rule set's result for them (the same data, of the same size, as a real
  send stores) in the same database, commits, writes two keys into the session and answers
  303, as the real send does.

No rate limit, no security headers, no validation past reading the fields, no audit row, no
index but the idempotency key's. SQLite gets the app's own settings (WAL, ``synchronous =
NORMAL``, a busy timeout).

gunicorn loads ``floor_app:app`` from this folder with the environment of
``serving.app_environment``.
"""

from __future__ import annotations

import os
import secrets
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from flask import Flask, redirect, render_template_string, request, session
from flask.typing import ResponseReturnValue
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from send_bench import FORM_ANSWERS
from sqlalchemy import JSON, Date, DateTime, String, event, inspect
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from questionnaire.clinic.db_sqlite import PRAGMAS
from questionnaire.engine import load_ruleset

ROOT = Path(__file__).resolve().parents[1]

# A patient's answers as the session holds them: the send benchmark's answer set, typed.
ANSWERS: dict[str, Any] = {**FORM_ANSWERS, "pain_score": int(str(FORM_ANSWERS["pain_score"]))}

FORM = """<!doctype html>
<html lang="en"><title>Send your answers</title>
<form method="post" action="/send">
<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
<input type="hidden" name="idempotency_key" value="{{ key }}">
<label>Full name <input name="patient_name"></label>
<input name="dob-day"><input name="dob-month"><input name="dob-year">
<input name="appointment-day"><input name="appointment-month"><input name="appointment-year">
<label><input type="checkbox" name="consent" value="yes"> I agree</label>
<button>Send</button>
</form></html>"""


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class FloorSubmission(db.Model):  # type: ignore[name-defined]
    __tablename__ = "floor_submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    patient_name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[date] = mapped_column(Date)
    appointment_date: Mapped[date] = mapped_column(Date)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime)


def create_app() -> Flask:
    app = Flask(__name__)
    instance = Path(os.environ["QUESTIONNAIRE_INSTANCE_PATH"])
    app.config.update(
        SECRET_KEY=os.environ["SECRET_KEY"],
        SQLALCHEMY_DATABASE_URI=os.environ.get("DATABASE_URL")
        or f"sqlite:///{instance / 'floor.sqlite3'}",
    )
    CSRFProtect(app)
    db.init_app(app)
    ruleset = load_ruleset(ROOT / "rules")
    result = ruleset.evaluate(ruleset.validate(ANSWERS)).model_dump(mode="json")

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_settings)
        try:
            db.create_all()
        except DatabaseError:
            # Every worker loads this module at once: another one made the table first.
            if not inspect(db.engine).has_table(FloorSubmission.__tablename__):
                raise

    @app.get("/c/bench/")
    def start() -> ResponseReturnValue:
        session["answers"] = ANSWERS
        return redirect("/send")

    @app.route("/send", methods=["GET", "POST"])
    def send() -> ResponseReturnValue:
        if request.method == "GET":
            key = session.get("send_key") or secrets.token_urlsafe(32)
            return render_template_string(FORM, key=key)
        form = request.form
        row = FloorSubmission(
            idempotency_key=form["idempotency_key"],
            patient_name=form["patient_name"],
            date_of_birth=_date(form, "dob"),
            appointment_date=_date(form, "appointment"),
            answers=session["answers"],
            result=result,
            created_at=datetime.now(UTC),
        )
        db.session.add(row)
        db.session.commit()
        session["send_key"] = secrets.token_urlsafe(32)
        session["sent"] = {"reference": f"F{row.id}", "clinic": "Bench Clinic"}
        return redirect("/send/done", code=303)

    return app


def _date(form: Any, prefix: str) -> date:
    year, month, day = (int(form[f"{prefix}-{part}"]) for part in ("year", "month", "day"))
    return date(year, month, day)


def _sqlite_settings(dbapi_connection: Any, _record: Any) -> None:
    for pragma in PRAGMAS:
        dbapi_connection.execute(pragma)


app = create_app()
