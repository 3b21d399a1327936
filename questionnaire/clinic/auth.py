"""Staff sign-in: password, then a TOTP code, then a server-side session.

The Flask session holds only a random token; the ``staff_sessions`` row is keyed by its
sha256, so ending the row (sign-out, timeout, a disabled account) ends every copy of the
cookie. Failed attempts and lockouts live in the database, so they count across instances.
Each TOTP code is accepted once: the account keeps the time step of the last code accepted,
and only a code of a later step is taken after it. An account whose password someone else
chose (an administrator, an operator) must choose its own after both steps, before the
session starts.
"""

from __future__ import annotations

import base64
import hashlib
import io
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any, Literal, TypeVar, cast
from urllib.parse import urlsplit

import pyotp
import segno
from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user
from sqlalchemy import CursorResult, or_, update
from werkzeug.wrappers import Response as BaseResponse

from questionnaire.clinic import store
from questionnaire.clinic.audit import write_audit
from questionnaire.clinic.forms import FormError, StaffForm, new_password_errors, read_form
from questionnaire.clinic.models import StaffSession, StaffUser, utcnow
from questionnaire.clinic.notices import send_notice
from questionnaire.clinic.passwords import (
    hash_password,
    needs_rehash,
    spend_verify_time,
    verify_password,
)
from questionnaire.clinic.transactions import writing
from questionnaire.extensions import db, login_manager
from questionnaire.web.posting import is_post
from questionnaire.web.ratelimits import rate_limited

bp = Blueprint("clinic_auth", __name__, url_prefix="/clinic")

NOT_RECOGNISED = "Email, password or code not recognised"
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
# Between the password and the code step; long enough to open an authenticator app.
PENDING_LIFETIME = timedelta(minutes=5)
# last_seen_at is written at most this often, not on every request.
TOUCH_INTERVAL = timedelta(minutes=1)
TOTP_ISSUER = "Back injection questionnaire"
# Codes of one step either side of now are taken: a phone's clock may be a little off.
TOTP_VALID_WINDOW = 1
PENDING_KEY = "pending_login"
STEP_EXPIRED = "Sign in again: the first step has expired or was not done."

F = TypeVar("F", bound=Callable[..., Any])


# --- the signed-in principal -----------------------------------------------------------------


class StaffIdentity:
    """``current_user`` for staff: the account, the session token that proved it, and when
    the password was last given in that session."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, user: StaffUser, token: str, confirmed_at: datetime | None) -> None:
        self.user = user
        self._token = token
        self.confirmed_at = confirmed_at

    @property
    def is_active(self) -> bool:
        return self.user.disabled_at is None

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def clinic_id(self) -> int:
        return self.user.clinic_id

    @property
    def role(self) -> str:
        return self.user.role

    @property
    def is_admin(self) -> bool:
        return self.user.role == "admin"

    @property
    def email(self) -> str:
        return self.user.email

    @property
    def display_name(self) -> str:
        return self.user.display_name

    def get_id(self) -> str:
        # Flask-Login keeps this in the session: the token, never the account id.
        return self._token


def session_key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@login_manager.user_loader
def load_staff(token: str) -> StaffIdentity | None:
    """Resolve the session token; None (signed out) when the session has ended or timed out."""
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        return None
    row = db.session.get(StaffSession, session_key(token))
    if row is None or row.ended_at is not None:
        return None
    now = utcnow()
    user = db.session.get(StaffUser, row.user_id)
    expired = session_timed_out(row, now)
    if expired or user is None or user.disabled_at is not None:
        if expired and _no_pending_writes():
            with writing():
                row.ended_at = now
                write_audit(
                    "session_expired",
                    user_id=row.user_id,
                    clinic_id=user.clinic_id if user else None,
                )
        return None
    if now - row.last_seen_at >= TOUCH_INTERVAL and _no_pending_writes():
        with writing():
            row.last_seen_at = now
    return StaffIdentity(user, token, row.confirmed_at)


def session_timed_out(row: StaffSession, now: datetime) -> bool:
    """Whether the session has been idle too long or has lasted too long in all."""
    config = current_app.config
    idle = timedelta(seconds=int(config["STAFF_IDLE_TIMEOUT_SECONDS"]))
    absolute = timedelta(seconds=int(config["STAFF_ABSOLUTE_TIMEOUT_SECONDS"]))
    return now - row.last_seen_at > idle or now - row.created_at > absolute


def _no_pending_writes() -> bool:
    # The loader may run in the middle of another view: never commit that view's changes.
    return not (db.session.new or db.session.dirty or db.session.deleted)


def staff() -> StaffIdentity:
    """The signed-in staff member (only behind require_staff or admin_required)."""
    return cast(StaffIdentity, current_user._get_current_object())


def require_staff() -> ResponseReturnValue | None:
    """For a blueprint's before_request: every clinic page needs a signed-in staff member."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def admin_required(view: F) -> F:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not staff().is_admin:
            return forbidden()
        return view(*args, **kwargs)

    return cast(F, wrapped)


def forbidden() -> ResponseReturnValue:
    """403 for a signed-in staff member on an administrator's page; the refusal is audited."""
    record_refusal(f"{request.method} {request.endpoint}: administrators only")
    return render_template("clinic/forbidden.html"), 403


def record_refusal(detail: str, record_id: int | None = None) -> None:
    """Audit that the signed-in staff member was refused a page or a record, so attempts
    to reach what is not theirs show in the audit log."""
    me = staff()
    with writing():
        write_audit(
            "access_denied",
            user_id=me.id,
            clinic_id=me.clinic_id,
            record_id=record_id,
            detail=detail,
        )


@bp.record_once
def _configure_login(state: Any) -> None:
    login_manager.login_view = "clinic_auth.login"
    login_manager.login_message = "Sign in to see that page."
    login_manager.login_message_category = "info"


# --- forms ------------------------------------------------------------------------------------


class LoginForm(StaffForm):
    email: str = ""
    password: str = ""


class CodeForm(StaffForm):
    code: str = ""


class ChooseForm(StaffForm):
    new_password: str = ""
    confirm_password: str = ""


def safe_next(target: str | None) -> str | None:
    """Only a path inside the clinic pages may be a redirect target after sign-in."""
    if not target or len(target) > 500:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/clinic/") or "\\" in target:
        return None
    return target


# --- sign in ----------------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
@rate_limited("10 per minute", methods=["POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("clinic.index"))
    next_url = safe_next(request.values.get("next"))
    if not is_post():
        return render_template("clinic/login.html", form={}, errors=[], next_url=next_url)
    form = read_form(LoginForm)
    errors: list[FormError] = []
    if not form.email:
        errors.append(FormError("email", "Enter your email address"))
    if not form.password:
        errors.append(FormError("password", "Enter your password"))
    if not errors:
        user = _check_password(form.email, form.password)
        if user is not None:
            _start_pending(user, next_url)
            if user.totp_confirmed_at is None:
                return redirect(url_for("clinic_auth.totp_setup"))
            return redirect(url_for("clinic_auth.login_code"))
        errors.append(FormError("email", NOT_RECOGNISED))
    shown = {"email": form.email}
    return render_template("clinic/login.html", form=shown, errors=errors, next_url=next_url), 400


def _check_password(email: str, password: str) -> StaffUser | None:
    """The account if the password is right; otherwise records the failure and gives None.

    A locked account is refused before its password is checked. An unknown, turned-off or
    locked one spends the time of one verify against a fixed hash instead, so neither the
    answer nor its timing tells whether the account exists or is locked.
    """
    user = store.find_staff_user_by_email(email) if len(email) <= 254 else None
    if user is None:
        spend_verify_time(password)
        with writing():
            write_audit("login_failure", detail="unknown account")
        return None
    if user.disabled_at is not None:
        spend_verify_time(password)
        with writing():
            write_audit(
                "login_failure",
                user_id=user.id,
                clinic_id=user.clinic_id,
                detail="account disabled",
            )
        return None
    if is_locked(user):
        spend_verify_time(password)
        with writing():
            write_audit(
                "login_failure", user_id=user.id, clinic_id=user.clinic_id, detail="account locked"
            )
        return None
    if not verify_password(user.password_hash, password):
        record_failure(user, "bad password")
        return None
    if needs_rehash(user.password_hash):
        # Hashed before the write begins: hashing is slow, and other writers wait on the lock.
        password_hash = hash_password(password)
        with writing():
            user.password_hash = password_hash
    return user


def is_locked(user: StaffUser) -> bool:
    return user.locked_until is not None and user.locked_until > utcnow()


def record_failure(user: StaffUser, detail: str) -> None:
    """Count one failed attempt in the database; the fifth in a row locks the account."""
    # An UPDATE of the stored count, so attempts on several instances add up.
    with writing():
        db.session.execute(
            update(StaffUser)
            .where(StaffUser.id == user.id)
            .values(failed_logins=StaffUser.failed_logins + 1)
        )
        db.session.refresh(user)
        locked = user.failed_logins >= MAX_FAILURES
        if locked:
            user.locked_until = utcnow() + LOCKOUT
            user.failed_logins = 0
            detail = f"{detail}; locked"
        write_audit("login_failure", user_id=user.id, clinic_id=user.clinic_id, detail=detail)
    if locked:
        send_notice("locked", user)


def _start_pending(user: StaffUser, next_url: str | None, *, codes_done: bool = False) -> None:
    """Between the steps of signing in: who passed the password step (and with
    ``codes_done``, the code step), since when, with which password, and where to go after.

    The state lives in the signed cookie, so a copy of the cookie holds it too. It is tied to
    the password it was reached with (``_password_stamp``): once that password is replaced,
    by the person's own choice at the last step, a change, or an administrator's reset, no
    copy of the cookie can take the steps that follow.
    """
    if not codes_done:
        # A fresh session between the steps too: nothing from before sign-in carries over.
        session.clear()
    session[PENDING_KEY] = {
        "user_id": user.id,
        "since": utcnow().timestamp(),
        "next": next_url,
        "codes_done": codes_done,
        "password": _password_stamp(user),
    }


def _password_stamp(user: StaffUser) -> str:
    """A short digest of the account's password hash: it changes whenever the password does,
    and tells nothing about the password."""
    return hashlib.sha256(user.password_hash.encode("utf-8")).hexdigest()[:32]


def _codes_passed(user: StaffUser, next_url: str | None) -> ResponseReturnValue:
    """Both steps passed: sign in, unless the person must first choose their own password."""
    if not user.password_must_change:
        return _complete_sign_in(user, next_url)
    _start_pending(user, next_url, codes_done=True)
    return redirect(url_for("clinic_auth.choose_password"))


def _pending_user(*, codes_done: bool = False) -> tuple[StaffUser | None, str | None]:
    """The account that passed the password step (with ``codes_done``, the code step too),
    while that step is recent enough."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None, None
    if codes_done and pending.get("codes_done") is not True:
        return None, None
    since = pending.get("since")
    user_id = pending.get("user_id")
    if not isinstance(since, int | float) or not isinstance(user_id, int):
        return None, None
    if utcnow() - datetime.fromtimestamp(since, tz=UTC) > PENDING_LIFETIME:
        return None, None
    user = db.session.get(StaffUser, user_id)
    if user is None or user.disabled_at is not None or is_locked(user):
        return None, None
    if pending.get("password") != _password_stamp(user):
        return None, None  # the password has changed since this step was passed
    next_url = pending.get("next")
    return user, next_url if isinstance(next_url, str) else None


def _restart_sign_in(message: str) -> ResponseReturnValue:
    session.pop(PENDING_KEY, None)
    flash(message, "info")
    return redirect(url_for("clinic_auth.login"))


def clean_code(raw: str) -> str:
    return "".join(raw.split()).replace("-", "")


def code_error(code: str) -> str | None:
    if not code:
        return "Enter the 6-digit code from your authenticator app"
    if len(code) != 6 or not (code.isascii() and code.isdigit()):
        return "Enter the code as 6 digits, like 123456"
    return None


def totp_time() -> float:
    """Now, in seconds since the epoch: the clock that TOTP time steps are counted on."""
    return time.time()


def matched_step(secret: str, code: str) -> int | None:
    """The time step whose code is ``code``, within the valid window around now, or None.

    Every step in the window is compared, each in constant time, as ``TOTP.verify`` does; if
    two steps share the code, the later one is taken, so the same digits cannot pass twice.
    """
    totp = pyotp.TOTP(secret)
    now = totp.timecode(totp_time())
    matched = None
    for step in range(now - TOTP_VALID_WINDOW, now + TOTP_VALID_WINDOW + 1):
        if pyotp.utils.strings_equal(code, totp.generate_otp(step)):
            matched = step
    return matched


CodeOutcome = Literal["accepted", "wrong", "used"]


def use_code(user: StaffUser, secret: str, code: str) -> CodeOutcome:
    """Accept ``code`` if it is right and of a later time step than the last code accepted.

    "used" is a right code whose step, or a later one, was accepted before: a replay, or the
    same code sent twice at once. The step is claimed by one conditional UPDATE, so of two
    requests with the same code only one changes the row. Joins the caller's ``writing()``.
    """
    step = matched_step(secret, code)
    if step is None:
        return "wrong"
    with writing():
        result = db.session.execute(
            update(StaffUser)
            .where(
                StaffUser.id == user.id,
                or_(StaffUser.totp_last_step.is_(None), StaffUser.totp_last_step < step),
            )
            .values(totp_last_step=step),
            execution_options={"synchronize_session": False},
        )
        return "accepted" if cast(CursorResult[Any], result).rowcount == 1 else "used"


def _failure_detail(outcome: CodeOutcome) -> str:
    # Only the audit trail tells the two apart; the person signing in sees the same answer.
    return "code already used" if outcome == "used" else "bad code"


@bp.route("/login/code", methods=["GET", "POST"])
@rate_limited("10 per minute", methods=["POST"])
def login_code() -> ResponseReturnValue:
    user, next_url = _pending_user()
    if user is None:
        return _restart_sign_in(STEP_EXPIRED)
    if user.totp_confirmed_at is None or not user.totp_secret:
        return redirect(url_for("clinic_auth.totp_setup"))
    if not is_post():
        return render_template("clinic/login_code.html", errors=[])
    code = clean_code(read_form(CodeForm).code)
    problem = code_error(code)
    if problem is not None:
        return render_template("clinic/login_code.html", errors=[FormError("code", problem)]), 400
    # A code used before gets the answer a wrong code gets, and counts as a failure too.
    outcome = use_code(user, user.totp_secret, code)
    if outcome == "accepted":
        return _codes_passed(user, next_url)
    record_failure(user, _failure_detail(outcome))
    if is_locked(user):
        return _restart_sign_in(NOT_RECOGNISED)
    return render_template(
        "clinic/login_code.html", errors=[FormError("code", NOT_RECOGNISED)]
    ), 400


@bp.route("/totp/setup", methods=["GET", "POST"])
@rate_limited("10 per minute", methods=["POST"])
def totp_setup() -> ResponseReturnValue:
    user, next_url = _pending_user()
    if user is None:
        return _restart_sign_in(STEP_EXPIRED)
    if user.totp_confirmed_at is not None:
        return redirect(url_for("clinic_auth.login_code"))
    if not user.totp_secret:
        # Kept until confirmed, so reloading the page does not break a code already scanned.
        with writing():
            user.totp_secret = pyotp.random_base32()
    secret = user.totp_secret
    assert secret is not None
    errors: list[FormError] = []
    if is_post():
        code = clean_code(read_form(CodeForm).code)
        problem = code_error(code)
        if problem is None:
            with writing():
                outcome = use_code(user, secret, code)
                if outcome == "accepted":
                    user.totp_confirmed_at = utcnow()
                    write_audit("totp_confirmed", user_id=user.id, clinic_id=user.clinic_id)
            if outcome == "accepted":
                send_notice("totp_confirmed", user)
                return _codes_passed(user, next_url)
            record_failure(user, _failure_detail(outcome))
            if is_locked(user):
                return _restart_sign_in(NOT_RECOGNISED)
            problem = "That code is not right. Enter the code your app shows now"
        errors.append(FormError("code", problem))
    return (
        render_template("clinic/totp_setup.html", errors=errors, **totp_key(secret, user.email)),
        400 if errors else 200,
    )


@bp.route("/login/new-password", methods=["GET", "POST"])
@rate_limited("10 per minute", methods=["POST"])
def choose_password() -> ResponseReturnValue:
    """The last step for an account whose password someone else chose: the person's own."""
    user, next_url = _pending_user(codes_done=True)
    if user is None:
        return _restart_sign_in(STEP_EXPIRED)
    if not user.password_must_change:
        # Not reached by the steps of sign-in, which come here only while it must change.
        return _restart_sign_in(STEP_EXPIRED)
    if not is_post():
        return render_template("clinic/choose_password.html", errors=[])
    form = read_form(ChooseForm)
    errors = new_password_errors(
        form.new_password,
        email=user.email,
        missing="Enter a new password",
        confirm=form.confirm_password,
    )
    if not errors and verify_password(user.password_hash, form.new_password):
        errors.append(
            FormError("new_password", "Choose a password other than the one you were given")
        )
    if errors:
        return render_template("clinic/choose_password.html", errors=errors), 400
    # Hashed before the write begins: hashing is slow, and other writers wait on the lock.
    password_hash = hash_password(form.new_password)
    with writing():
        user.password_hash = password_hash
        user.password_must_change = False
        write_audit(
            "password_change", user_id=user.id, clinic_id=user.clinic_id, detail="first sign-in"
        )
    send_notice("password_change", user)
    return _complete_sign_in(user, next_url)


def totp_key(secret: str, email: str) -> dict[str, Any]:
    """What a page shows to put ``secret`` in an authenticator app (templates/clinic/
    _totp_key.html): its QR code, and the key in groups of four for typing instead."""
    uri = pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=TOTP_ISSUER)
    return {
        "qr_data_uri": qr_code_data_uri(uri),
        "secret_groups": [secret[i : i + 4] for i in range(0, len(secret), 4)],
    }


def qr_code_data_uri(text: str) -> str:
    """The QR code of ``text`` as an SVG image in a data: URI (the page allows img data:)."""
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="svg", scale=5, border=4, xmldecl=False)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _complete_sign_in(user: StaffUser, next_url: str | None) -> ResponseReturnValue:
    """Create the server-side session and put only its token in a brand-new Flask session."""
    session.clear()
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with writing():
        db.session.add(
            StaffSession(
                id=session_key(token),
                user_id=user.id,
                created_at=now,
                last_seen_at=now,
                confirmed_at=now,
            )
        )
        user.failed_logins = 0
        user.locked_until = None
        write_audit("login_success", user_id=user.id, clinic_id=user.clinic_id)
    login_user(StaffIdentity(user, token, now))
    return redirect(next_url or url_for("clinic.index"))


@bp.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    if current_user.is_authenticated:
        identity = staff()
        with writing():
            store.mark_staff_session(session_key(identity.get_id()), ended_at=utcnow())
            write_audit("logout", user_id=identity.id, clinic_id=identity.clinic_id)
    logout_user()
    session.clear()
    flash("You have signed out.", "info")
    return signed_out(redirect(url_for("clinic_auth.login")))


def signed_out(response: BaseResponse) -> BaseResponse:
    """Ask the browser to drop what it may keep of the staff pages (cached pages, storage).
    Cookies stay: the answer itself sets the new, signed-out session and its message."""
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response
