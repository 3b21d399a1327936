"""A signed-in staff member's own account: who they are signed in as, their open sessions,
their recent sign-in activity, changing their password, and signing out their other
sessions. The activity comes from the audit log, so a person can notice someone else
trying their account.

Both changes ask for the current password again, so someone who finds a browser left signed
in cannot take the account over or hide a session of their own. A wrong current password
counts as a failed sign-in; the fifth in a row locks the account and ends all its sessions,
this one too. Changing the password ends every other session of the account.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, flash, redirect, render_template, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import logout_user

from questionnaire.clinic import store
from questionnaire.clinic.audit import write_audit
from questionnaire.clinic.auth import (
    is_locked,
    record_failure,
    require_staff,
    session_key,
    session_timed_out,
    signed_out,
    staff,
)
from questionnaire.clinic.forms import FormError, StaffForm, new_password_errors, read_form
from questionnaire.clinic.models import AuditEvent, utcnow
from questionnaire.clinic.notices import send_notice
from questionnaire.clinic.passwords import hash_password, verify_password
from questionnaire.clinic.transactions import writing
from questionnaire.web.ratelimits import rate_limited

bp = Blueprint("clinic_account", __name__, url_prefix="/clinic/account")
bp.before_request(require_staff)

ACTIVITY_DAYS = 30
ACTIVITY_ROWS = 15
_ACTIVITY = {
    "login_success": "Signed in",
    "logout": "Signed out",
    "session_expired": "A session ended after its time limit",
    "totp_confirmed": "Sign-in code set up",
    "password_change": "Password changed",
    "sessions_end": "Other sessions signed out",
    "staff_reset": "Sign-in reset by an administrator",
    "password_confirmed": "Password confirmed for an administrator's task",
    "totp_changed": "Sign-in code moved to a new phone",
}
# A failed attempt's audit detail (before any "; locked") says which step failed.
_FAILURES = {
    "bad password": "Sign-in refused: wrong password",
    "bad code": "Sign-in refused: wrong code",
    "code already used": "Sign-in refused: a code that had been used",
    "account locked": "Sign-in refused: the account was locked",
    "account disabled": "Sign-in refused: the account was turned off",
    "bad password on the account page": "Wrong current password on this page",
    "bad password when confirming": "Wrong password when asked to confirm it",
    "bad code on the account page": "Wrong code from your phone on this page",
}
ACCOUNT_PAGE_FAILURE = "bad password on the account page"
LOCKED_OUT = (
    "Your current password was wrong too many times: the account is locked for 15 minutes "
    "and every session of it is signed out."
)


class ChangePasswordForm(StaffForm):
    current_password: str = ""
    new_password: str = ""
    confirm_password: str = ""


class EndSessionsForm(StaffForm):
    sessions_password: str = ""


@bp.route("")
def index() -> ResponseReturnValue:
    return account_page([])


def account_page(errors: list[FormError], status: int = 200) -> ResponseReturnValue:
    me = staff()
    now = utcnow()
    sessions = [
        row for row in store.active_staff_sessions(me.id) if not session_timed_out(row, now)
    ]
    activity = store.sign_in_activity(
        me.clinic_id, me.id, since=now - timedelta(days=ACTIVITY_DAYS), limit=ACTIVITY_ROWS
    )
    return (
        render_template(
            "clinic/account.html",
            sessions=sessions,
            this_session=session_key(me.get_id()),
            activity=[(event.at, describe_activity(event)) for event in activity],
            activity_days=ACTIVITY_DAYS,
            activity_rows=ACTIVITY_ROWS,
            errors=errors,
        ),
        status,
    )


def describe_activity(event: AuditEvent) -> str:
    """A sign-in event in words for the person it is about."""
    if event.action != "login_failure":
        return _ACTIVITY.get(event.action, event.action)
    step, _, outcome = (event.detail or "").partition("; ")
    text = _FAILURES.get(step, "Sign-in refused")
    if outcome == "locked":
        text += ". The account was locked for 15 minutes"
    return text


def current_password_error(
    password: str, field: str, failure: str = ACCOUNT_PAGE_FAILURE
) -> FormError | None:
    """None when ``password`` is the signed-in account's; a wrong one counts as a failed
    sign-in, audited with ``failure`` (a key of _FAILURES)."""
    if not password:
        return FormError(field, "Enter your current password")
    me = staff()
    if verify_password(me.user.password_hash, password):
        return None
    record_failure(me.user, failure)
    return FormError(field, "Your current password is not right")


def refused_for_password(password: str, field: str) -> ResponseReturnValue | None:
    """None when ``password`` is the signed-in account's; else the answer to give: this page
    with the error, or signed out when that failure locked the account."""
    error = current_password_error(password, field)
    if error is None:
        return None
    return signed_out_if_locked() or account_page([error], 400)


def signed_out_if_locked() -> ResponseReturnValue | None:
    """After a wrong current password: if that locked the account, end all its sessions."""
    me = staff()
    if not is_locked(me.user):
        return None
    with writing():
        ended = store.end_staff_sessions(me.id)
        write_audit(
            "logout", user_id=me.id, clinic_id=me.clinic_id, detail=f"locked; ended={ended}"
        )
    logout_user()
    session.clear()
    flash(LOCKED_OUT, "error")
    return signed_out(redirect(url_for("clinic_auth.login")))


@bp.route("/password", methods=["POST"])
@rate_limited("10 per minute")
def change_password() -> ResponseReturnValue:
    me = staff()
    form = read_form(ChangePasswordForm)
    errors: list[FormError] = []
    current = current_password_error(form.current_password, "current_password")
    if current is not None:
        locked = signed_out_if_locked()
        if locked is not None:
            return locked
        errors.append(current)
    errors.extend(
        new_password_errors(
            form.new_password,
            email=me.email,
            missing="Enter a new password",
            confirm=form.confirm_password,
        )
    )
    if not errors and form.new_password == form.current_password:
        errors.append(FormError("new_password", "Choose a new password, not your current one"))
    if errors:
        return account_page(errors, 400)
    # Hashed before the write begins: hashing is slow, and other writers wait on the lock.
    password_hash = hash_password(form.new_password)
    with writing():
        me.user.password_hash = password_hash
        me.user.password_must_change = False
        ended = store.end_staff_sessions(me.id, keep=session_key(me.get_id()))
        write_audit(
            "password_change",
            user_id=me.id,
            clinic_id=me.clinic_id,
            detail=f"other sessions ended={ended}",
        )
    send_notice("password_change", me.user)
    flash(_changed_message(ended), "info")
    return redirect(url_for("clinic_account.index"))


def _changed_message(ended: int) -> str:
    if not ended:
        return "Your password has been changed."
    sessions = "session" if ended == 1 else "sessions"
    return f"Your password has been changed, and your {ended} other {sessions} signed out."


@bp.route("/sessions/end", methods=["POST"])
@rate_limited("10 per minute")
def end_other_sessions() -> ResponseReturnValue:
    me = staff()
    form = read_form(EndSessionsForm)
    refused = refused_for_password(form.sessions_password, "sessions_password")
    if refused is not None:
        return refused
    with writing():
        ended = store.end_staff_sessions(me.id, keep=session_key(me.get_id()))
        write_audit("sessions_end", user_id=me.id, clinic_id=me.clinic_id, detail=f"ended={ended}")
    sessions = "session" if ended == 1 else "sessions"
    flash(f"Signed out of {ended} other {sessions}. This one stays signed in.", "info")
    return redirect(url_for("clinic_account.index"))
