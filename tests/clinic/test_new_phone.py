"""Moving one's sign-in code to a new phone from "Your account": both factors first, then a
code from the new phone within 15 minutes; the old phone's codes work until then."""

from __future__ import annotations

from datetime import timedelta

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from helpers import (
    NEW_PHONE,
    Account,
    audit_rows,
    code_at,
    confirm_new_phone,
    csrf_token,
    is_signed_in,
    login,
    logout,
    new_phone_code,
    sessions_of,
    start_new_phone,
    submit_password,
    totp_step,
    user_row,
    wait_for_next_code,
)
from sqlalchemy import update

from questionnaire.clinic.confirm import CONFIRM_WINDOW
from questionnaire.clinic.models import StaffSession, utcnow
from questionnaire.clinic.newphone import MOVED, START_AGAIN, WRONG_CODE, WRONG_NEW_CODE
from questionnaire.extensions import db


def signed_in_and_started(app: Flask, client: FlaskClient, nurse: Account) -> None:
    """Sign in, then give both factors for a new phone (a code later than sign-in's)."""
    login(client, nurse.email, nurse.password)
    wait_for_next_code()
    assert start_new_phone(client, nurse.password, code_at(app, nurse.email)).status_code == 302


def test_a_new_phone_takes_over_the_sign_in_code(
    app: Flask, client: FlaskClient, nurse: Account
) -> None:
    login(client, nurse.email, nurse.password)
    old_secret = user_row(app, nurse.email).totp_secret
    wait_for_next_code()  # the code of sign-in has been used

    started = start_new_phone(client, nurse.password, code_at(app, nurse.email))
    assert (started.status_code, started.headers["Location"]) == (302, NEW_PHONE)
    page = client.get(NEW_PHONE).get_data(as_text=True)
    new_secret = user_row(app, nurse.email).totp_new_secret
    assert new_secret and new_secret != old_secret
    assert "data:image/svg+xml;base64," in page
    assert " ".join(new_secret[i : i + 4] for i in range(0, len(new_secret), 4)) in page
    assert user_row(app, nurse.email).totp_secret == old_secret  # the old phone still works

    moved = confirm_new_phone(client, new_phone_code(app, nurse.email))

    assert (moved.status_code, moved.headers["Location"]) == (302, "/clinic/account")
    account = user_row(app, nurse.email)
    assert (account.totp_secret, account.totp_new_secret) == (new_secret, None)
    assert account.totp_last_step == totp_step()  # the new phone's code cannot sign in again
    assert [row.user_id for row in audit_rows(app, "totp_changed")] == [nurse.id]
    shown = client.get("/clinic/account").get_data(as_text=True)
    assert MOVED in shown and "Sign-in code moved to a new phone" in shown
    assert is_signed_in(client)

    # From now on the new phone's codes sign in, and the old phone's do not.
    logout(client)
    wait_for_next_code()
    assert submit_password(client, nurse.email, nurse.password).status_code == 302
    old_code = str(pyotp.TOTP(old_secret).generate_otp(totp_step()))
    token = csrf_token(client, "/clinic/login/code")
    refused = client.post("/clinic/login/code", data={"csrf_token": token, "code": old_code})
    assert refused.status_code == 400
    login(client, nurse.email, nurse.password)


def test_the_password_and_a_fresh_code_from_the_current_phone_are_both_needed(
    app: Flask, client: FlaskClient, nurse: Account
) -> None:
    login(client, nurse.email, nurse.password)
    used_at_sign_in = code_at(app, nurse.email)

    wrong_password = start_new_phone(client, "not my password at all", used_at_sign_in)
    assert wrong_password.status_code == 400
    assert "Your current password is not right" in wrong_password.get_data(as_text=True)
    replayed = start_new_phone(client, nurse.password, used_at_sign_in)
    wrong = start_new_phone(
        client, nurse.password, "000000" if used_at_sign_in != "000000" else "111111"
    )

    for answer in (replayed, wrong):
        assert answer.status_code == 400
        assert WRONG_CODE in answer.get_data(as_text=True)
    assert user_row(app, nurse.email).totp_new_secret is None
    assert [row.detail for row in audit_rows(app, "login_failure")] == [
        "bad password on the account page",
        "bad code on the account page",
        "bad code on the account page",
    ]
    assert "Wrong code from your phone on this page" in client.get("/clinic/account").text


def test_the_fifth_wrong_code_locks_the_account_and_signs_out_everywhere(
    app: Flask, client: FlaskClient, nurse: Account
) -> None:
    login(client, nurse.email, nurse.password)
    for _ in range(4):
        assert start_new_phone(client, nurse.password, "12345x").status_code == 400  # not 6 digits
        assert start_new_phone(client, nurse.password, "999999").status_code == 400
    assert user_row(app, nurse.email).failed_logins == 4

    last = start_new_phone(client, nurse.password, "999999")

    assert (last.status_code, last.headers["Location"]) == (302, "/clinic/login")
    assert user_row(app, nurse.email).locked_until is not None
    assert not is_signed_in(client)
    assert all(row.ended_at is not None for row in sessions_of(app, nurse.id))


def test_a_wrong_code_from_the_new_phone_changes_nothing_and_does_not_count(
    app: Flask, client: FlaskClient, nurse: Account
) -> None:
    signed_in_and_started(app, client, nurse)
    before = user_row(app, nurse.email)

    answer = confirm_new_phone(client, code_at(app, nurse.email))  # the old phone's code

    assert answer.status_code == 400
    assert WRONG_NEW_CODE in answer.get_data(as_text=True)
    after = user_row(app, nurse.email)
    assert (after.totp_secret, after.totp_new_secret) == (
        before.totp_secret,
        before.totp_new_secret,
    )
    assert after.failed_logins == 0
    assert audit_rows(app, "totp_changed") == []


def test_the_new_phone_must_be_confirmed_within_the_window(
    app: Flask, client: FlaskClient, nurse: Account
) -> None:
    signed_in_and_started(app, client, nurse)
    token = csrf_token(client, NEW_PHONE)
    code = new_phone_code(app, nurse.email)
    with app.app_context():
        db.session.execute(
            update(StaffSession)
            .where(StaffSession.user_id == nurse.id)
            .values(confirmed_at=utcnow() - CONFIRM_WINDOW - timedelta(minutes=1))
        )
        db.session.commit()

    late = client.post(NEW_PHONE, data={"csrf_token": token, "code": code})

    assert (late.status_code, late.headers["Location"]) == (302, "/clinic/account#sign-in-code")
    assert START_AGAIN in client.get("/clinic/account").get_data(as_text=True)
    account = user_row(app, nurse.email)
    assert account.totp_new_secret is None
    assert account.totp_secret == nurse.totp_secret
    # Without a new secret kept, the page goes back to the account.
    assert client.get(NEW_PHONE).headers["Location"] == "/clinic/account"


def test_an_administrators_reset_drops_a_new_phone_half_set_up(
    app: Flask, client: FlaskClient, nurse: Account, admin: Account
) -> None:
    signed_in_and_started(app, client, nurse)
    administrator = app.test_client()
    login(administrator, admin.email, admin.password)
    token = csrf_token(administrator, f"/clinic/staff/{nurse.id}/reset")
    reset = administrator.post(
        f"/clinic/staff/{nurse.id}/reset",
        data={"csrf_token": token, "password": "harbour lantern seventy 41"},
    )
    assert reset.status_code == 302
    account = user_row(app, nurse.email)
    assert (account.totp_secret, account.totp_new_secret) == (None, None)


def test_only_the_session_that_asked_can_see_and_confirm_the_new_phone(
    app: Flask, client: FlaskClient, nurse: Account
) -> None:
    signed_in_and_started(app, client, nurse)
    other = app.test_client()
    login(other, nurse.email, nurse.password)  # both factors, minutes ago, elsewhere
    code = new_phone_code(app, nurse.email)

    assert other.get(NEW_PHONE).headers["Location"] == "/clinic/account"
    posted = other.post(NEW_PHONE, data={"csrf_token": csrf_token(other, "/clinic/"), "code": code})

    assert posted.headers["Location"] == "/clinic/account"
    assert user_row(app, nurse.email).totp_secret == nurse.totp_secret
    assert confirm_new_phone(client, code).status_code == 302  # the session that asked still can
    assert user_row(app, nurse.email).totp_secret != nurse.totp_secret


def test_giving_only_the_password_again_drops_a_new_phone_under_way(
    app: Flask, client: FlaskClient, nurse: Account
) -> None:
    signed_in_and_started(app, client, nurse)
    token = csrf_token(client, "/clinic/confirm")
    confirmed = client.post(
        "/clinic/confirm", data={"csrf_token": token, "password": nurse.password}
    )
    assert confirmed.status_code == 302

    assert client.get(NEW_PHONE).headers["Location"] == "/clinic/account"
    account = user_row(app, nurse.email)
    assert (account.totp_new_secret, account.totp_new_session) == (None, None)
