"""Sending a finished sheet to a clinic: the clinic's start link and the consent form.

A clinic gives patients the link ``/c/<slug>/``; it remembers the clinic and starts the
questionnaire. From the sheet, ``/send`` asks for consent, name, date of birth and
appointment date, then stores the answers once: the form carries an idempotency key, made
when it is first shown and again after each send, so a double click, a refresh or a retry
after an error stores one submission and shows its confirmation.
"""

from __future__ import annotations

import math
import re
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from markupsafe import Markup, escape
from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from questionnaire.clinic import store
from questionnaire.clinic.plaintext import has_hidden_characters
from questionnaire.clinic.reference import spell_reference
from questionnaire.engine import AnswersError
from questionnaire.extensions import db
from questionnaire.web.answerstore import CLINIC_SLUG, load_answers
from questionnaire.web.app import current_ruleset
from questionnaire.web.csrftoken import csrf_token
from questionnaire.web.errors import database_unavailable, handle_http_error
from questionnaire.web.frames import frame_cache, site_root
from questionnaire.web.posting import is_post
from questionnaire.web.ratelimits import RateLimited, rate_limited
from questionnaire.web.resultcache import result_data, result_json

bp = Blueprint("sending", __name__)
bp.add_app_template_filter(spell_reference, "spell_reference")

# Session keys: the key of the form being filled in, and the last confirmation shown.
SEND_KEY = "send_key"
SENT = "sent"

# Clinics are never renamed or removed by the application, so what a lookup found stays true;
# remembering it spares every form and every send a database round trip. A slug that is not
# found is looked up again each time, so a new clinic works at once.
CLINIC_CACHE_SECONDS = 60.0
CLINIC_CACHE_SIZE = 1000
_CLINIC_CACHE = "sending.clinics"

NAME_MAX = 200
OLDEST_AGE = 120
APPOINTMENT_HORIZON_DAYS = 365
_KEY = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
_DIGITS = re.compile(r"^[0-9]{1,4}$")


# --- the form ------------------------------------------------------------------------------


class FormProblem(BaseModel):
    """One error: ``field`` is the id of the input the error summary links to (the first
    wrong part of a date), ``name`` the form field it belongs to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str
    name: str
    message: str
    parts: tuple[str, ...] = ()  # the boxes of a date to mark; none means all three


class SendForm(BaseModel):
    """What /send collects, checked against ``today`` passed in the validation context."""

    model_config = ConfigDict(extra="forbid")

    # In the order of the page, so the error summary lists problems in that order too.
    patient_name: str
    date_of_birth: date
    appointment_date: date
    consent: bool
    idempotency_key: str

    @field_validator("consent", mode="before")
    @classmethod
    def _consent(cls, value: Any) -> bool:
        if value != "yes":
            raise _problem("Tick the box to agree to send your answers to the clinic")
        return True

    @field_validator("patient_name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> str:
        name = " ".join(str(value or "").split())
        if not name:
            raise _problem("Enter your full name")
        if len(name) > NAME_MAX:
            raise _problem(f"Your name must be {NAME_MAX} characters or fewer")
        if has_hidden_characters(name):
            raise _problem("Your name must only include letters, spaces and punctuation")
        return name

    @field_validator("date_of_birth", mode="before")
    @classmethod
    def _date_of_birth(cls, value: Any, info: ValidationInfo) -> date:
        today = _today(info)
        born = _parse_date("Date of birth", "date of birth", value)
        if born >= today:
            raise _problem("Date of birth must be in the past")
        if _age(born, today) > OLDEST_AGE:
            raise _problem(
                f"Date of birth must be within the last {OLDEST_AGE} years: check the year",
                "year",
            )
        return born

    @field_validator("appointment_date", mode="before")
    @classmethod
    def _appointment_date(cls, value: Any, info: ValidationInfo) -> date:
        today = _today(info)
        day = _parse_date("Appointment date", "appointment date", value)
        if day < today:
            raise _problem("Appointment date must be today or in the future")
        if day > today + timedelta(days=APPOINTMENT_HORIZON_DAYS):
            raise _problem("Appointment date must be within the next 12 months")
        return day

    @field_validator("idempotency_key", mode="before")
    @classmethod
    def _key(cls, value: Any) -> str:
        if not isinstance(value, str) or not _KEY.match(value):
            # Only a tampered or very old page gets here: show the form again.
            raise _problem("This form has expired. Check your details and send them again")
        return value


def _problem(message: str, *parts: str) -> PydanticCustomError:
    return PydanticCustomError("form", message, {"parts": parts} if parts else None)


def _today(info: ValidationInfo) -> date:
    context = info.context or {}
    today = context.get("today")
    return today if isinstance(today, date) else datetime.now(UTC).date()


def _parse_date(label: str, lower: str, value: Any) -> date:
    parts = value if isinstance(value, dict) else {}
    day, month, year = (str(parts.get(key, "")).strip() for key in ("day", "month", "year"))
    if not (day or month or year):
        raise _problem(f"Enter your {lower}")
    missing = [name for name, text in (("day", day), ("month", month), ("year", year)) if not text]
    if missing:
        raise _problem(f"{label} must include a {' and a '.join(missing)}", *missing)
    for name, text in (("day", day), ("month", month), ("year", year)):
        if not _DIGITS.match(text):
            raise _problem(f"{label} must be written in numbers", name)
    # Every part that cannot be right is marked at once, not one per try.
    wrong = [
        name
        for name, text, good in (
            ("day", day, 1 <= int(day) <= 31),
            ("month", month, 1 <= int(month) <= 12),
            ("year", year, len(year) == 4),
        )
        if not good
    ]
    if wrong == ["year"]:
        raise _problem(f"{label} year must include 4 numbers", "year")
    if wrong:
        raise _problem(f"{label} must be a real date", *wrong)
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise _problem(f"{label} must be a real date") from None


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


DATE_FIELDS = {"date_of_birth": "dob", "appointment_date": "appointment"}


def read_send_form(
    form: Any, today: date
) -> tuple[SendForm | None, list[FormProblem], dict[str, str]]:
    """Validate a posted /send form: the model or every problem, and the values to show."""
    values = posted_values(form)
    raw = {
        "consent": values["consent"],
        "patient_name": values["patient_name"],
        "date_of_birth": _parts(values, "dob"),
        "appointment_date": _parts(values, "appointment"),
        "idempotency_key": values["idempotency_key"],
    }
    try:
        return SendForm.model_validate(raw, context={"today": today}), [], values
    except ValidationError as error:
        return None, [_form_problem(item) for item in error.errors()], values


FORM_FIELDS = (
    "consent",
    "patient_name",
    "dob-day",
    "dob-month",
    "dob-year",
    "appointment-day",
    "appointment-month",
    "appointment-year",
    "idempotency_key",
)


def posted_values(form: Any) -> dict[str, str]:
    """The form's own fields as typed (cut to a sane length), to show again."""
    return {name: str(form.get(name, ""))[:400] for name in FORM_FIELDS}


def _parts(values: dict[str, str], prefix: str) -> dict[str, str]:
    return {part: values[f"{prefix}-{part}"] for part in ("day", "month", "year")}


def _form_problem(item: Any) -> FormProblem:
    name = str(item["loc"][0]) if item["loc"] else "consent"
    if name not in DATE_FIELDS:
        return FormProblem(field=name, name=name, message=item["msg"])
    parts = tuple((item.get("ctx") or {}).get("parts") or ())
    anchor = f"{DATE_FIELDS[name]}-{parts[0] if parts else 'day'}"
    return FormProblem(field=anchor, name=name, message=item["msg"], parts=parts)


# --- views ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClinicToSendTo:
    """What the sending pages need to know about a clinic."""

    id: int
    slug: str
    name: str


@bp.record_once
def _make_clinic_cache(state: Any) -> None:
    state.app.extensions[_CLINIC_CACHE] = {}


@bp.app_context_processor
def _sending_context() -> dict[str, Any]:
    # A function, so only the sheet, which shows the link, looks the clinic up.
    return {"clinic_to_send_to": clinic_to_send_to}


def clinic_to_send_to() -> ClinicToSendTo | None:
    """The clinic this browser came from, for the sheet's "Send my answers" link; None when
    there is none or the database cannot be reached (sending is optional)."""
    try:
        return _clinic(session.get(CLINIC_SLUG))
    except (DBAPIError, PoolTimeoutError):
        db.session.rollback()
        return None


def sent_to(clinic: ClinicToSendTo) -> bool:
    """Whether this browser has sent answers to ``clinic`` (its last confirmation names it)."""
    details = session.get(SENT)
    return isinstance(details, dict) and details.get("slug") == clinic.slug


@bp.get("/c/<clinic_slug>/")
def start(clinic_slug: str) -> ResponseReturnValue:
    """A clinic's link: remember the clinic for this browser, then start the questionnaire."""
    clinic = _clinic(clinic_slug)
    if clinic is None:
        return render_template("sending/unknown_clinic.html"), 404
    session[CLINIC_SLUG] = clinic.slug
    return redirect(url_for("patient.start"))


@bp.route("/send", methods=["GET", "POST"])
@rate_limited("30 per minute", methods=["POST"])
def send() -> ResponseReturnValue:
    clinic = _clinic(session.get(CLINIC_SLUG))
    if clinic is None:
        return render_template("sending/no_clinic.html"), 404
    rs = current_ruleset()
    try:
        answers = rs.validate(load_answers(rs))
    except AnswersError:
        return redirect(url_for("patient.check"))
    if not is_post():
        return _render_blank_form(clinic, _form_key())

    today = datetime.now(UTC).date()
    form, errors, values = read_send_form(request.form, today)
    if form is None:
        if any(error.name == "idempotency_key" for error in errors):
            values["idempotency_key"] = _form_key()
        return _render_form(clinic, values, errors)
    result = rs.evaluate(answers)
    new = store.NewSubmission(
        clinic_id=clinic.id,
        idempotency_key=form.idempotency_key,
        patient_name=form.patient_name,
        date_of_birth=form.date_of_birth,
        appointment_date=form.appointment_date,
        answers=answers,
        result=result_data(result),
        result_json=result_json(result),
        ruleset_version=rs.version,
        ruleset_sha256=rs.sha256,
    )
    # A database error here is answered by database_unavailable() below.
    stored, created = store.create_submission(new)
    if not created and _details_differ(clinic.id, stored.id, form):
        # The same form sent before with other details: from a second tab or window, or after
        # going back. Nothing new is stored; the patient chooses whether to send these too.
        values["idempotency_key"] = _form_key()
        return _render_form(clinic, values, [], already_sent=stored.reference)
    # The next form gets a new key now, while the session is being written anyway, so that
    # showing the form only reads the session and sends no new cookie.
    session[SEND_KEY] = _new_key()
    session[SENT] = {"reference": stored.reference, "clinic": clinic.name, "slug": clinic.slug}
    return redirect(url_for("sending.sent"), code=303)


def _details_differ(clinic_id: int, submission_id: int, form: SendForm) -> bool:
    """Whether the submission stored under this form's key has other details than ``form``."""
    stored = store.get_submission(clinic_id, submission_id)
    if stored is None:
        return False
    sent = (stored.patient_name, stored.date_of_birth, stored.appointment_date)
    return sent != (form.patient_name, form.date_of_birth, form.appointment_date)


@bp.get("/send/done")
def sent() -> ResponseReturnValue:
    details = session.get(SENT)
    if not isinstance(details, dict) or not isinstance(details.get("reference"), str):
        abort(404)
    return render_template(
        "sending/sent.html", reference=details["reference"], clinic_name=details.get("clinic")
    )


@bp.errorhandler(DBAPIError)
@bp.errorhandler(PoolTimeoutError)
def database_unavailable_here(error: Exception) -> ResponseReturnValue:
    """The database is down or overloaded: say so, keep everything, offer a retry.

    A retry posts the same form with the same idempotency key, so however often it is
    pressed, one submission is stored.
    """
    unavailable = database_unavailable(error)
    sending = request.endpoint == "sending.send" and request.method == "POST"
    page = render_template(
        "sending/unavailable.html",
        sending=sending,
        retry_values=posted_values(request.form) if sending else None,
    )
    return page, 503, {"Retry-After": str(unavailable.retry_after)}


@bp.errorhandler(RateLimited)
def too_many_sends(error: RateLimited) -> ResponseReturnValue:
    """Sent too often from one address: say how long to wait, and keep what was typed in a
    form to send again, as when the database is down."""
    if request.endpoint != "sending.send" or not is_post():
        return handle_http_error(error)
    page = render_template(
        "sending/unavailable.html",
        sending=True,
        wait_minutes=max(1, math.ceil(error.wait_seconds / 60)),
        retry_values=posted_values(request.form),
    )
    return page, 429, {"Retry-After": str(error.wait_seconds)}


def _render_form(
    clinic: ClinicToSendTo,
    values: Mapping[str, str],
    errors: list[FormProblem],
    **extra: Any,
) -> str:
    return render_template(
        "sending/send.html",
        clinic=clinic,
        values=values,
        errors=errors,
        error_for={error.name: error for error in errors},
        example_appointment=_numeric_date(datetime.now(UTC).date() + timedelta(days=30)),
        **extra,
    )


def _render_blank_form(clinic: ClinicToSendTo, form_key: str) -> str:
    """The form as first shown: drawn once per clinic and day with slots for the CSRF token
    and the form's key, the only parts that differ between patients (see web/frames.py)."""
    if current_app.jinja_env.auto_reload:
        return _render_form(clinic, {"idempotency_key": form_key}, [])

    def draw(markers: Sequence[Markup]) -> str:
        values = {"idempotency_key": markers[1]}
        return _render_form(clinic, values, [], csrf_token=lambda: markers[0])

    today = datetime.now(UTC).date()
    shape = ("send-form", clinic, today, site_root())
    frame = frame_cache().get(shape, draw, slots=2)
    return frame.fill([escape(csrf_token()), escape(form_key)])


def _numeric_date(day: date) -> str:
    return f"{day.day} {day.month} {day.year}"


def _clinic(slug: Any) -> ClinicToSendTo | None:
    if not isinstance(slug, str) or not 0 < len(slug) <= 64:
        return None
    cache: dict[str, tuple[ClinicToSendTo, float]] = current_app.extensions[_CLINIC_CACHE]
    now = time.monotonic()
    known = cache.get(slug)
    if known is not None and known[1] > now:
        return known[0]
    clinic = store.get_clinic_by_slug(slug)
    if clinic is None:
        return None
    found = ClinicToSendTo(id=clinic.id, slug=clinic.slug, name=clinic.name)
    if len(cache) >= CLINIC_CACHE_SIZE:
        cache.clear()
    cache[slug] = (found, now + CLINIC_CACHE_SECONDS)
    return found


def _form_key() -> str:
    """The key of the form in progress, kept across reloads until a send succeeds."""
    key = session.get(SEND_KEY)
    if not isinstance(key, str) or not _KEY.match(key):
        key = session[SEND_KEY] = _new_key()
    return key


def _new_key() -> str:
    return secrets.token_urlsafe(32)
