"""Security notices: an email to a staff member whenever how their account signs in changes.

Most tests collect the notices in Flask-Mailman's in-memory outbox. A notice leaves once the
answer to its request is closed, as a WSGI server closes every answer after sending it, so
these tests close each answer that should send one. The last tests go through a real SMTP
server on 127.0.0.1 (aiosmtpd), and through a mail server that is down.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from flask import Flask
from flask.testing import FlaskClient
from helpers import (
    Account,
    choose_password,
    code_at,
    confirm_new_phone,
    csrf_token,
    login,
    make_clinic,
    make_staff,
    new_phone_code,
    reset_sign_in,
    start_new_phone,
    submit_password,
    wait_for_next_code,
)
from support.ports import free_port
from support.testapp import app_with
from werkzeug.test import TestResponse

from questionnaire.clinic.auth import MAX_FAILURES
from questionnaire.clinic.notices import NOTICES
from questionnaire.extensions import db

SENDER = "Alpha security <security@alpha.example.org>"
NEW = "silver kettle morning 6204"
FIRST = "harbour lantern seventy 41"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """An app whose notices go to Flask-Mailman's in-memory outbox; the clinic fixtures
    (``clinic_id``, ``nurse``, ``admin``) are made in it."""
    app = app_with(tmp_path, MAIL_BACKEND="locmem", MAIL_FROM=SENDER)
    with app.app_context():
        db.create_all()
    yield app


def outbox(app: Flask) -> list[Any]:
    return list(getattr(app.extensions["mailman"], "outbox", []))


def sent(app: Flask) -> list[tuple[list[str], str]]:
    """Each notice sent so far as (recipients, subject)."""
    return [(message.to, message.subject) for message in outbox(app)]


def closed(response: TestResponse) -> TestResponse:
    response.close()
    return response


def change_password(client: FlaskClient, current: str, new: str = NEW) -> TestResponse:
    token = csrf_token(client, "/clinic/account")
    data = {
        "csrf_token": token,
        "current_password": current,
        "new_password": new,
        "confirm_password": new,
    }
    return client.post("/clinic/account/password", data=data)


def test_a_password_change_sends_its_owner_a_notice_once_the_answer_has_gone(
    app: Flask, client: FlaskClient, nurse: Account
) -> None:
    login(client, nurse.email, nurse.password)
    answer = change_password(client, nurse.password)
    assert answer.status_code == 302
    assert outbox(app) == []  # not while the answer is still being sent

    closed(answer)

    assert sent(app) == [([nurse.email], NOTICES["password_change"].subject)]
    (message,) = outbox(app)
    assert message.from_email == SENDER
    body = message.body
    assert "Hello Nurse Jones," in body
    assert f"The password of your staff account ({nurse.email}) was changed on " in body
    assert " UTC." in body
    assert "Tell an administrator of Alpha Spine Clinic today" in body
    # Nothing a thief could use, and nothing to click.
    assert nurse.password not in body and NEW not in body
    assert "http" not in body


def test_a_failed_change_sends_nothing(app: Flask, client: FlaskClient, nurse: Account) -> None:
    login(client, nurse.email, nurse.password)
    refused = closed(change_password(client, nurse.password, new="short"))
    assert refused.status_code == 400
    assert outbox(app) == []


def test_a_reset_tells_the_person_reset_and_who_did_it_and_their_first_sign_in_tells_them_more(
    app: Flask, client: FlaskClient, admin: Account, nurse: Account
) -> None:
    login(client, admin.email, admin.password)
    assert closed(reset_sign_in(client, nurse.id, FIRST)).status_code == 302

    assert sent(app) == [([nurse.email], NOTICES["staff_reset"].subject)]
    body = outbox(app)[0].body
    assert f"Dr Lead reset how you sign in to your staff account ({nurse.email}) on " in body
    assert "talk to Dr Lead or another administrator of Alpha Spine Clinic" in body
    assert FIRST not in body

    # Their first sign-in sets up a code, then their own password: a notice for each.
    browser = app.test_client()
    closed(submit_password(browser, nurse.email, FIRST))
    token = csrf_token(browser, "/clinic/totp/setup")
    code = code_at(app, nurse.email)
    closed(browser.post("/clinic/totp/setup", data={"csrf_token": token, "code": code}))
    closed(choose_password(browser, NEW))

    assert sent(app)[1:] == [
        ([nurse.email], NOTICES["totp_confirmed"].subject),
        ([nurse.email], NOTICES["password_change"].subject),
    ]


def test_moving_the_sign_in_code_to_a_new_phone_sends_a_notice(
    app: Flask, client: FlaskClient, nurse: Account
) -> None:
    login(client, nurse.email, nurse.password)
    wait_for_next_code()
    closed(start_new_phone(client, nurse.password, code_at(app, nurse.email)))
    assert outbox(app) == []  # under way, not done

    moved = closed(confirm_new_phone(client, new_phone_code(app, nurse.email)))

    assert moved.status_code == 302
    assert sent(app) == [([nurse.email], NOTICES["totp_changed"].subject)]
    assert "Codes from the old one no longer work." in outbox(app)[0].body


def test_the_attempt_that_locks_an_account_sends_one_notice_and_an_unknown_address_none(
    app: Flask, client: FlaskClient, nurse: Account
) -> None:
    for _ in range(MAX_FAILURES - 1):
        closed(submit_password(client, nurse.email, "not the password at all"))
    assert outbox(app) == []

    closed(submit_password(client, nurse.email, "not the password at all"))
    closed(submit_password(client, nurse.email, "still not the password"))  # while locked

    assert sent(app) == [([nurse.email], NOTICES["locked"].subject)]
    body = outbox(app)[0].body
    assert f"Your staff account ({nurse.email}) was locked on " in body
    assert " until " in body and "after too many wrong passwords or codes in a row" in body

    for _ in range(MAX_FAILURES + 1):
        closed(submit_password(client, "nobody@alpha.example.org", "not the password at all"))
    assert len(outbox(app)) == 1


def test_notices_are_off_without_a_mail_server(tmp_path: Path) -> None:
    app = app_with(tmp_path)
    with app.app_context():
        db.create_all()
    nurse = make_staff(app, make_clinic(app), "nurse@alpha.example.org")
    client = app.test_client()
    login(client, nurse.email, nurse.password)

    assert closed(change_password(client, nurse.password)).status_code == 302

    assert not app.config.get("MAIL_BACKEND")
    assert outbox(app) == []


# --- through a real mail server ---------------------------------------------------------------


class Inbox:
    """An SMTP server's handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], Message]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        sender = envelope.mail_from or ""
        self.messages.append((sender, list(envelope.rcpt_tos), message_from_bytes(content)))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def smtp_app(tmp_path: Path, url: str) -> Flask:
    app = app_with(tmp_path, MAIL_URL=url, MAIL_FROM=SENDER)
    with app.app_context():
        db.create_all()
    return app


def test_a_notice_goes_through_the_mail_server_that_mail_url_names(
    tmp_path: Path, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, port = smtp_server
    app = smtp_app(tmp_path, f"smtp://127.0.0.1:{port}")
    nurse = make_staff(app, make_clinic(app), "nurse@alpha.example.org", name="Nurse Jones")
    client = app.test_client()
    login(client, nurse.email, nurse.password)

    closed(change_password(client, nurse.password))

    (sender, recipients, message) = inbox.messages[0]
    assert len(inbox.messages) == 1
    assert (sender, recipients) == ("security@alpha.example.org", [nurse.email])
    assert message["From"] == SENDER and message["To"] == nurse.email
    assert message["Subject"] == NOTICES["password_change"].subject
    assert "was changed on" in message.get_payload(decode=True).decode("utf-8")


def test_a_mail_server_that_is_down_changes_nothing_but_a_warning_without_the_address(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = smtp_app(tmp_path, f"smtp://127.0.0.1:{free_port()}")  # nothing listens there
    nurse = make_staff(app, make_clinic(app), "nurse@alpha.example.org")
    client = app.test_client()
    login(client, nurse.email, nurse.password)

    with caplog.at_level(logging.WARNING):
        answer = closed(change_password(client, nurse.password))

    assert answer.status_code == 302
    login(app.test_client(), nurse.email, NEW)  # the new password is in force
    warnings = [record.getMessage() for record in caplog.records]
    assert warnings == [
        f"security notice password_change for staff account {nurse.id} not sent: "
        "ConnectionRefusedError"
    ]
    assert nurse.email not in caplog.text
