"""Security notices: an email to a staff member whenever how their account signs in changes,
so that a change they did not make does not go unnoticed (ASVS 2.2.3 and 2.5.5).

Notices go out for a password changed, a sign-in code set up or moved to a new phone, a
sign-in reset by an administrator, and an account locked after wrong attempts. Each says what
happened and when, and what to do if it was not them. None carries a secret, a link to
follow, or anything about a patient.

They are off until an operator names a mail server (``MAIL_URL`` and ``MAIL_FROM``, see
web/mailurl.py); "Your account" shows the same events either way. A notice is sent after the
answer to the request has gone out: the page does not wait for the mail server, and the time a
failed sign-in takes does not tell whether the account exists. A notice the server cannot
take is logged as the notice's kind and the account's id (never the address) and changes
nothing else: the change it reports has been made and stays made.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from functools import partial

from flask import Flask, Response, after_this_request, current_app
from flask_mailman import EmailMessage

from questionnaire.clinic import store
from questionnaire.clinic.models import StaffUser, utcnow
from questionnaire.clinic.timetext import clinic_datetime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notice:
    """One kind of notice. ``what`` and ``if_not_you`` are filled in with ``{email}``,
    ``{when}``, ``{until}`` (the end of a lock), ``{clinic}`` and ``{by}`` (the
    administrator, for a reset)."""

    subject: str
    what: str
    if_not_you: str = (
        "If it was not you, someone else may be able to sign in as you. Tell an administrator "
        "of {clinic} today: they can reset how you sign in, which also signs out every "
        "session of your account."
    )


NOTICES = {
    "password_change": Notice(
        subject="Your password was changed",
        what="The password of your staff account ({email}) was changed on {when}.",
    ),
    "totp_confirmed": Notice(
        subject="A sign-in code was set up for your account",
        what=(
            "A phone or authenticator app was set up to give the sign-in codes of your staff "
            "account ({email}) on {when}."
        ),
    ),
    "totp_changed": Notice(
        subject="Your sign-in code moved to a new phone",
        what=(
            "The sign-in codes of your staff account ({email}) were moved to a new phone or "
            "authenticator app on {when}. Codes from the old one no longer work."
        ),
    ),
    "staff_reset": Notice(
        subject="An administrator reset how you sign in",
        what=(
            "{by} reset how you sign in to your staff account ({email}) on {when}. Your old "
            "password and sign-in code no longer work, and every session of the account was "
            "signed out. {by} gives you a first password in person. When you sign in with "
            "it, you set up a new sign-in code and choose your own password."
        ),
        if_not_you=(
            "If you did not expect this, talk to {by} or another administrator of {clinic} today."
        ),
    ),
    "locked": Notice(
        subject="Your account was locked after wrong sign-in attempts",
        what=(
            "Your staff account ({email}) was locked on {when} until {until}, after too many "
            "wrong passwords or codes in a row."
        ),
        if_not_you=(
            "If those attempts were not yours, someone may be trying to get into your "
            "account. Tell an administrator of {clinic} today, and choose a new password "
            "when the lock ends."
        ),
    ),
}

CLOSING = (
    'Once signed in, "Your account" lists the account\'s recent sign-ins and changes.\n\n'
    "This automatic message is about your staff account for reading patients' "
    "pre-consultation answers. It holds no patient information. Replies to it are not read."
)


def notices_on(app: Flask) -> bool:
    return bool(app.config.get("MAIL_BACKEND"))


def compose(kind: str, user: StaffUser, *, by: str | None = None) -> EmailMessage:
    """The notice ``kind`` (a key of NOTICES) for ``user``, dated now."""
    notice = NOTICES[kind]
    clinic = store.get_clinic(user.clinic_id)
    fields = {
        "email": user.email,
        "when": clinic_datetime(utcnow()),
        "until": clinic_datetime(user.locked_until),
        "clinic": clinic.name if clinic is not None else "your clinic",
        "by": by or "An administrator",
    }
    body = "\n\n".join(
        [
            f"Hello {user.display_name},",
            notice.what.format(**fields),
            "If it was you, there is nothing to do.",
            notice.if_not_you.format(**fields),
            CLOSING,
        ]
    )
    return EmailMessage(subject=notice.subject, body=body + "\n", to=[user.email])


def send_notice(kind: str, user: StaffUser, *, by: str | None = None) -> None:
    """Send the notice ``kind`` to ``user`` once this request's answer has gone out; nothing
    when notices are off. Call it after the change it reports has been committed."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    if not notices_on(app):
        return
    message = compose(kind, user, by=by)
    deliver = partial(_deliver, app, message, kind, user.id)

    @after_this_request
    def _send_after_answer(response: Response) -> Response:
        response.call_on_close(deliver)
        return response


def _deliver(app: Flask, message: EmailMessage, kind: str, user_id: int) -> None:
    with app.app_context():
        try:
            message.send()
        except (OSError, smtplib.SMTPException) as error:
            log.warning(
                "security notice %s for staff account %d not sent: %s",
                kind,
                user_id,
                type(error).__name__,
            )
