"""Administrators' pages for their clinic's staff accounts: the list, adding an account,
turning one off (from a page that first names the person), resetting a person's sign-in
when they have lost their password or their phone, and turning an account back on (a reset
of an account that is turned off).

Whoever adds or resets an account chooses its first password and gives it to the person;
the person replaces it with their own at their next sign-in (``password_must_change``), so
no one else ever knows the password an account is used with.

Each of these tasks needs the administrator's password given in the last 15 minutes
(``clinic/confirm.py``): a session cookie alone is not enough to hand out access.
"""

from __future__ import annotations

import re

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from questionnaire.clinic import store
from questionnaire.clinic.audit import write_audit
from questionnaire.clinic.auth import forbidden, record_refusal, staff
from questionnaire.clinic.confirm import recent_password_required
from questionnaire.clinic.forms import FormError, StaffForm, new_password_errors, read_form
from questionnaire.clinic.models import ROLES, StaffUser, utcnow
from questionnaire.clinic.notices import send_notice
from questionnaire.clinic.passwords import hash_password
from questionnaire.clinic.plaintext import has_hidden_characters
from questionnaire.clinic.transactions import writing
from questionnaire.extensions import login_manager
from questionnaire.web.posting import is_post

bp = Blueprint("clinic_staff", __name__, url_prefix="/clinic/staff")

EMAIL_IN_USE = (
    "This email address cannot be used for a new account. Each person signs in with an "
    "address of their own: enter another one"
)
_EMAIL_SHAPE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
ENTER_FIRST = "Enter a first password"


class NewStaffForm(StaffForm):
    email: str = ""
    display_name: str = ""
    role: str = "staff"
    password: str = ""


class ResetForm(StaffForm):
    password: str = ""


@bp.before_request
def administrators_only() -> ResponseReturnValue | None:
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not staff().is_admin:
        return forbidden()
    return None


@bp.route("")
def index() -> ResponseReturnValue:
    me = staff()
    users = store.list_staff_users(me.clinic_id)
    # Colleagues' names and addresses are personal data: showing them is audited too.
    with writing():
        write_audit("staff_list_view", user_id=me.id, clinic_id=me.clinic_id)
    return render_template("clinic/staff_list.html", users=users, now=utcnow())


@bp.route("/new", methods=["GET", "POST"])
@recent_password_required
def new() -> ResponseReturnValue:
    me = staff()
    if not is_post():
        return render_template(
            "clinic/staff_new.html", form={"role": "staff"}, errors=[], roles=ROLES
        )
    form = read_form(NewStaffForm)
    errors = _new_staff_errors(form)
    if not errors:
        try:
            user = store.create_staff_user(
                me.clinic_id,
                form.email,
                form.display_name,
                form.role,
                hash_password(form.password),
                must_change_password=True,
            )
        except store.EmailInUse:
            # Addresses are unique across clinics: say no more than that this one cannot be
            # used, and leave a trace of the attempt (without the address).
            errors.append(FormError("email", EMAIL_IN_USE))
            with writing():
                write_audit(
                    "staff_create_refused",
                    user_id=me.id,
                    clinic_id=me.clinic_id,
                    detail="email address in use",
                )
        except store.StoreError as error:
            errors.append(FormError("email", _store_message(str(error))))
        else:
            with writing():
                write_audit(
                    "staff_create",
                    user_id=me.id,
                    clinic_id=me.clinic_id,
                    record_id=user.id,
                    detail=f"role={user.role}",
                )
            flash(
                f"Account created for {user.display_name}. The first time they sign in, "
                "they set up their sign-in code and choose their own password.",
                "info",
            )
            return redirect(url_for("clinic_staff.index"))
    shown = {"email": form.email, "display_name": form.display_name, "role": form.role}
    return render_template("clinic/staff_new.html", form=shown, errors=errors, roles=ROLES), 400


def _new_staff_errors(form: NewStaffForm) -> list[FormError]:
    errors: list[FormError] = []
    if not form.email:
        errors.append(FormError("email", "Enter an email address"))
    elif (
        len(form.email) > 254
        or not _EMAIL_SHAPE.fullmatch(form.email)
        or has_hidden_characters(form.email)
    ):
        errors.append(
            FormError(
                "email", "Enter an email address in the correct format, like name@example.org"
            )
        )
    if not form.display_name:
        errors.append(FormError("display_name", "Enter the person's name"))
    elif len(form.display_name) > 200:
        errors.append(FormError("display_name", "Name must be 200 characters or fewer"))
    elif has_hidden_characters(form.display_name):
        errors.append(
            FormError("display_name", "Name must only include letters, spaces and punctuation")
        )
    if form.role not in ROLES:
        errors.append(FormError("role", f"Select a role: {' or '.join(ROLES)}"))
    errors.extend(
        new_password_errors(form.password, email=form.email, missing=ENTER_FIRST, field="password")
    )
    return errors


def _store_message(message: str) -> str:
    return message[0].upper() + message[1:]


def _colleague(user_id: int, if_own: str) -> StaffUser | ResponseReturnValue:
    """Another account of the administrator's clinic; otherwise the answer to give: 404 for
    an account of another clinic, as for one that does not exist, and back to the list with
    the message ``if_own`` for the administrator's own."""
    me = staff()
    user = store.get_staff_user(me.clinic_id, user_id)
    if user is None:
        record_refusal("no such staff account in this clinic", user_id)
        return render_template("clinic/not_found.html"), 404
    if user.id == me.id:
        flash(if_own, "error")
        return redirect(url_for("clinic_staff.index"))
    return user


@bp.route("/<row_id:user_id>/disable", methods=["GET", "POST"])
@recent_password_required
def disable(user_id: int) -> ResponseReturnValue:
    """A page that names the colleague and says what turning off does, then its button.

    A click on the list only leads here, so a slip of the mouse changes nothing. Turning off
    ends every session of the account at once; asking again for one already off changes
    nothing and writes no second row."""
    user = _colleague(user_id, "You cannot turn off your own account. Ask another administrator.")
    if not isinstance(user, StaffUser):
        return user
    me = staff()
    if not is_post():
        # The page shows a colleague's name and address: audited, as the list is.
        with writing():
            write_audit(
                "staff_disable_view", user_id=me.id, clinic_id=me.clinic_id, record_id=user.id
            )
        return render_template("clinic/staff_disable.html", user=user)
    if user.disabled_at is None:
        with writing():
            user.disabled_at = utcnow()
            # Ending the sessions signs the person out everywhere at once.
            store.end_staff_sessions(user.id)
            write_audit("staff_disable", user_id=me.id, clinic_id=me.clinic_id, record_id=user.id)
        flash(f"{user.display_name} can no longer sign in.", "info")
    else:
        flash(f"The account of {user.display_name} was already turned off.", "info")
    return redirect(url_for("clinic_staff.index"))


@bp.route("/<row_id:user_id>/reset", methods=["GET", "POST"])
@recent_password_required
def reset(user_id: int) -> ResponseReturnValue:
    """A new first password and a new sign-in code for someone who lost theirs; it also
    lifts a lockout and signs the account out everywhere.

    For an account that was turned off, the same page turns it back on: never with the
    password and code it had, which may be what it was turned off for, but with a first
    password the administrator gives the person and a sign-in code they set up anew."""
    user = _colleague(user_id, "To change your own password, use “Your account”.")
    if not isinstance(user, StaffUser):
        return user
    turning_on = user.disabled_at is not None
    if not is_post():
        return render_template(
            "clinic/staff_reset.html", user=user, errors=[], turning_on=turning_on
        )
    form = read_form(ResetForm)
    errors = new_password_errors(
        form.password, email=user.email, missing=ENTER_FIRST, field="password"
    )
    if errors:
        page = render_template(
            "clinic/staff_reset.html", user=user, errors=errors, turning_on=turning_on
        )
        return page, 400
    me = staff()
    store.reset_sign_in(user, hash_password(form.password), by_user_id=me.id)
    send_notice("staff_reset", user, by=me.display_name)
    done = "Account turned back on" if turning_on else "Sign-in reset"
    flash(
        f"{done} for {user.display_name}. Give them the first password in person: "
        "when they next sign in, they set up a new sign-in code and choose their own password.",
        "info",
    )
    return redirect(url_for("clinic_staff.index"))
