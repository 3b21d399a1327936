"""Moving one's sign-in code to a new phone, from "Your account".

The person gives their password and a code from the phone they have now: both factors, so
a browser left signed in is not enough. A new secret is then kept aside
(``totp_new_secret``) and shown as a QR code; the current phone's codes keep working until a
code from the new phone is confirmed, which puts the new secret in their place. The new
phone must be confirmed in the same session, within ``CONFIRM_WINDOW`` of giving both
factors; after that the person starts again. Giving only the password again (before an
administrator's task, ``clinic/confirm.py``) drops a new phone under way, so a session
cannot stretch the window without the current phone.

A wrong password or a wrong code from the current phone counts as a failed sign-in; the
fifth in a row locks the account and ends all its sessions. A wrong code from the new phone
does not count (both factors were given just before), and is rate-limited like the rest.
Someone who has lost their phone cannot do this: an administrator resets their sign-in.
"""

from __future__ import annotations

import pyotp
from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from questionnaire.clinic import store
from questionnaire.clinic.account import account_page, refused_for_password, signed_out_if_locked
from questionnaire.clinic.audit import write_audit
from questionnaire.clinic.auth import (
    CodeForm,
    clean_code,
    code_error,
    matched_step,
    record_failure,
    require_staff,
    session_key,
    staff,
    totp_key,
    use_code,
)
from questionnaire.clinic.confirm import recently_confirmed
from questionnaire.clinic.forms import FormError, StaffForm, read_form
from questionnaire.clinic.models import utcnow
from questionnaire.clinic.notices import send_notice
from questionnaire.clinic.transactions import writing
from questionnaire.web.posting import is_post
from questionnaire.web.ratelimits import rate_limited

bp = Blueprint("clinic_new_phone", __name__, url_prefix="/clinic/account/code")
bp.before_request(require_staff)

BAD_CODE = "bad code on the account page"
START_AGAIN = (
    "Setting up the new phone took too long. Start again: give your password and a code "
    "from the phone you have now."
)
WRONG_CODE = "That code is not right. Enter the code your current phone shows now"
WRONG_NEW_CODE = "That code is not right. Enter the code your new phone shows now"
MOVED = "Your sign-in code is now on your new phone. Codes from the old one no longer work."


class StartForm(StaffForm):
    code_password: str = ""
    code: str = ""


@bp.route("", methods=["POST"])
@rate_limited("10 per minute")
def start() -> ResponseReturnValue:
    """Both factors given: keep a new secret aside and show it."""
    me = staff()
    form = read_form(StartForm)
    refused = refused_for_password(form.code_password, "code_password")
    if refused is not None:
        return refused
    code = clean_code(form.code)
    problem = code_error(code)
    if problem is None and use_code(me.user, me.user.totp_secret or "", code) != "accepted":
        record_failure(me.user, BAD_CODE)
        locked = signed_out_if_locked()
        if locked is not None:
            return locked
        problem = WRONG_CODE
    if problem is not None:
        return account_page([FormError("code", problem)], 400)
    this_session = session_key(me.get_id())
    with writing():
        me.user.totp_new_secret = pyotp.random_base32()
        me.user.totp_new_session = this_session
        store.mark_staff_session(this_session, confirmed_at=utcnow())
    return redirect(url_for("clinic_new_phone.new_phone"))


@bp.route("/new", methods=["GET", "POST"])
@rate_limited("10 per minute", methods=["POST"])
def new_phone() -> ResponseReturnValue:
    """The new secret as a QR code, and the code from the new phone that puts it in place."""
    me = staff()
    user = me.user
    secret = user.totp_new_secret
    if secret is None or user.totp_new_session != session_key(me.get_id()):
        # None under way, or one asked for in another session: that one alone may see it.
        return redirect(url_for("clinic_account.index"))
    if not recently_confirmed():
        with writing():
            user.drop_new_phone()
        flash(START_AGAIN, "info")
        return redirect(url_for("clinic_account.index", _anchor="sign-in-code"))
    errors: list[FormError] = []
    if is_post():
        code = clean_code(read_form(CodeForm).code)
        problem = code_error(code)
        step = matched_step(secret, code) if problem is None else None
        if step is not None:
            with writing():
                user.totp_secret = secret
                user.drop_new_phone()
                user.totp_confirmed_at = utcnow()
                # The new phone's code cannot be used again to sign in.
                user.totp_last_step = max(step, user.totp_last_step or 0)
                write_audit("totp_changed", user_id=me.id, clinic_id=me.clinic_id)
            send_notice("totp_changed", user)
            flash(MOVED, "info")
            return redirect(url_for("clinic_account.index"))
        errors.append(FormError("code", problem or WRONG_NEW_CODE))
    page = render_template("clinic/new_phone.html", errors=errors, **totp_key(secret, user.email))
    return page, 400 if errors else 200
