"""Giving one's password again before an administrator's task on other accounts.

Adding an account, resetting a colleague's sign-in and turning an account off hand out or
take away access to patients' data. A session cookie alone must not be enough for them: if
the password was last given in this session more than ``CONFIRM_WINDOW`` ago (at sign-in,
or here), the page asks for it first, then goes back to where the person was. Someone who
finds a browser left signed in, or has copied its cookie, cannot reset a colleague's
account to take it over.

A wrong password counts as a failed sign-in, like one on "Your account"; the fifth in a row
locks the account and ends all its sessions, this one too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from questionnaire.clinic import store
from questionnaire.clinic.account import current_password_error, signed_out_if_locked
from questionnaire.clinic.audit import write_audit
from questionnaire.clinic.auth import require_staff, safe_next, session_key, staff
from questionnaire.clinic.forms import StaffForm, read_form
from questionnaire.clinic.models import utcnow
from questionnaire.clinic.transactions import writing
from questionnaire.web.posting import is_post
from questionnaire.web.ratelimits import rate_limited

bp = Blueprint("clinic_confirm", __name__, url_prefix="/clinic/confirm")
bp.before_request(require_staff)

CONFIRM_WINDOW = timedelta(minutes=15)
FAILURE = "bad password when confirming"
ASK_AGAIN = "Confirm your password, then do that again."

F = TypeVar("F", bound=Callable[..., Any])


class ConfirmForm(StaffForm):
    password: str = ""
    next: str = ""


def recently_confirmed() -> bool:
    confirmed = staff().confirmed_at
    return confirmed is not None and utcnow() - confirmed <= CONFIRM_WINDOW


def recent_password_required(view: F) -> F:
    """The view runs only if the password was given in this session within the window;
    otherwise the person confirms it and comes back: to this page when it can be shown
    (GET), else to the blueprint's index, since what was posted is not kept."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        if recently_confirmed():
            return view(*args, **kwargs)
        rule = request.url_rule
        if rule is not None and "GET" in (rule.methods or ()):
            back = request.path
        else:
            back = url_for(f"{request.blueprint}.index")
        if is_post():
            flash(ASK_AGAIN, "info")
        return redirect(url_for("clinic_confirm.confirm", next=back))

    return cast(F, wrapped)


@bp.route("", methods=["GET", "POST"])
@rate_limited("10 per minute", methods=["POST"])
def confirm() -> ResponseReturnValue:
    if not is_post():
        back = safe_next(request.args.get("next"))
        return render_template("clinic/confirm.html", back=back, errors=[])
    form = read_form(ConfirmForm)
    back = safe_next(form.next)
    error = current_password_error(form.password, "password", FAILURE)
    if error is not None:
        locked = signed_out_if_locked()
        if locked is not None:
            return locked
        return render_template("clinic/confirm.html", back=back, errors=[error]), 400
    me = staff()
    with writing():
        store.mark_staff_session(session_key(me.get_id()), confirmed_at=utcnow())
        # A new phone under way needs the current phone too: the password alone must not
        # give it more time (clinic/newphone.py).
        me.user.drop_new_phone()
        write_audit("password_confirmed", user_id=me.id, clinic_id=me.clinic_id)
    return redirect(back or url_for("clinic.index"))
