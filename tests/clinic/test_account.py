"""A staff member's own account page, changing their password, signing out their other
sessions, and the first sign-in of an account whose password someone else chose."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from helpers import (
    CHOOSE_PASSWORD,
    Account,
    audit_rows,
    choose_password,
    csrf_token,
    current_code,
    is_signed_in,
    login,
    make_staff,
    sessions_of,
    submit_password,
    user_row,
)
from werkzeug.test import TestResponse

from questionnaire.clinic import store
from questionnaire.clinic.account import describe_activity
from questionnaire.clinic.auth import MAX_FAILURES, NOT_RECOGNISED
from questionnaire.clinic.models import AuditEvent, utcnow
from questionnaire.clinic.passwords import hash_password, verify_password
from questionnaire.extensions import db

NEW = "silver kettle morning 6204"


def change_password(
    client: FlaskClient, current: str, new: str = NEW, confirm: str | None = None
) -> TestResponse:
    return client.post(
        "/clinic/account/password",
        data={
            "csrf_token": csrf_token(client, "/clinic/account"),
            "current_password": current,
            "new_password": new,
            "confirm_password": new if confirm is None else confirm,
        },
    )


def end_other_sessions(client: FlaskClient, password: str) -> TestResponse:
    return client.post(
        "/clinic/account/sessions/end",
        data={"csrf_token": csrf_token(client, "/clinic/account"), "sessions_password": password},
    )


def signed_in_elsewhere(app: Flask, account: Account) -> FlaskClient:
    """Another browser, signed in to the same account."""
    other = app.test_client()
    login(other, account.email, account.password)
    return other


def open_sessions(app: Flask, account: Account) -> int:
    return sum(row.ended_at is None for row in sessions_of(app, account.id))


# --- the account page --------------------------------------------------------------------------


def test_the_account_page_lists_only_ones_own_sessions_and_marks_this_one(
    app: Flask, client: FlaskClient, nurse: Account, clinic_id: int
) -> None:
    colleague = make_staff(app, clinic_id, "colleague@alpha.example.org")
    login(app.test_client(), colleague.email, colleague.password)
    login(app.test_client(), nurse.email, nurse.password)
    login(client, nurse.email, nurse.password)
    page = client.get("/clinic/account")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "nurse@alpha.example.org" in html and "Nurse Jones" in html
    assert html.count("This session") == 1
    body = html.split("<tbody>")[1].split("</tbody>")[0]
    assert body.count("<tr>") == 2  # the nurse's two, not the colleague's
    assert "Sign out of your other sessions" in html
    assert 'href="/clinic/account"' in client.get("/clinic/").get_data(as_text=True)


# --- changing the password ---------------------------------------------------------------------


def test_changing_the_password_signs_out_the_other_sessions_only(
    app: Flask, client: FlaskClient, nurse: Account
) -> None:
    other = signed_in_elsewhere(app, nurse)
    login(client, nurse.email, nurse.password)
    response = change_password(client, nurse.password)
    assert response.status_code == 302 and response.headers["Location"] == "/clinic/account"
    assert "your 1 other session signed out" in client.get("/clinic/account").get_data(as_text=True)
    assert is_signed_in(client) and not is_signed_in(other)
    assert open_sessions(app, nurse) == 1
    (row,) = audit_rows(app, "password_change")
    assert (row.user_id, row.detail) == (nurse.id, "other sessions ended=1")
    # Only the new password signs in from now on.
    fresh = app.test_client()
    assert NOT_RECOGNISED in submit_password(fresh, nurse.email, nurse.password).get_data(
        as_text=True
    )
    login(fresh, nurse.email, NEW)


def test_a_password_change_names_each_problem_and_changes_nothing(
    app: Flask, signed_in: FlaskClient, nurse: Account
) -> None:
    cases = [
        (("", NEW, NEW), "Enter your current password"),
        ((nurse.password, "", ""), "Enter a new password"),
        ((nurse.password, NEW, NEW + "x"), "Type the same new password in both boxes"),
        ((nurse.password, "short", "short"), "12 characters or more"),
        ((nurse.password, "password1234", "password1234"), "too common"),
        ((nurse.password, "nurse and more words", "nurse and more words"), "first part"),
        ((nurse.password, nurse.password, nurse.password), "not your current one"),
    ]
    for (current, new, confirm), message in cases:
        response = change_password(signed_in, current, new, confirm)
        html = response.get_data(as_text=True)
        assert response.status_code == 400, message
        assert message in html, message
        assert "There is a problem" in html
        if new:  # a typed password is never sent back in the page
            assert f'value="{new}"' not in html
    row = user_row(app, nurse.email)
    assert verify_password(row.password_hash, nurse.password)
    assert row.failed_logins == 0  # no wrong current password among them
    assert audit_rows(app, "password_change") == []


def test_a_wrong_current_password_counts_and_the_fifth_locks_and_signs_out(
    app: Flask, client: FlaskClient, nurse: Account
) -> None:
    other = signed_in_elsewhere(app, nurse)
    login(client, nurse.email, nurse.password)
    for attempt in range(1, MAX_FAILURES):
        response = change_password(client, "not my password at all")
        assert response.status_code == 400
        assert "Your current password is not right" in response.get_data(as_text=True)
        assert user_row(app, nurse.email).failed_logins == attempt
    response = change_password(client, "not my password at all")
    assert response.status_code == 302 and response.headers["Location"] == "/clinic/login"
    assert response.headers["Clear-Site-Data"] == '"cache", "storage"'
    assert "locked for 15 minutes" in client.get("/clinic/login").get_data(as_text=True)
    assert not is_signed_in(client) and not is_signed_in(other)
    assert open_sessions(app, nurse) == 0
    row = user_row(app, nurse.email)
    assert row.locked_until is not None
    assert verify_password(row.password_hash, nurse.password)


# --- signing out the other sessions ------------------------------------------------------------


def test_signing_out_the_other_sessions_needs_the_password(
    app: Flask, client: FlaskClient, nurse: Account
) -> None:
    others = [signed_in_elsewhere(app, nurse), signed_in_elsewhere(app, nurse)]
    login(client, nurse.email, nurse.password)

    for password, message in (("", "Enter your current password"), ("wrong!", "not right")):
        refused = end_other_sessions(client, password)
        assert refused.status_code == 400
        assert message in refused.get_data(as_text=True)
        assert all(is_signed_in(other) for other in others)

    done = end_other_sessions(client, nurse.password)
    assert done.status_code == 302
    assert "Signed out of 2 other sessions" in client.get("/clinic/account").get_data(as_text=True)
    assert is_signed_in(client)
    assert not any(is_signed_in(other) for other in others)
    (row,) = audit_rows(app, "sessions_end")
    assert (row.user_id, row.detail) == (nurse.id, "ended=2")
    page = client.get("/clinic/account").get_data(as_text=True)
    assert "You are signed in only here" in page


# --- the first sign-in with a password someone else chose --------------------------------------


def test_a_given_password_must_be_replaced_before_any_clinic_page_opens(
    app: Flask, client: FlaskClient, clinic_id: int
) -> None:
    given = "harbour lantern seventy 41"
    with app.app_context():
        store.create_staff_user(
            clinic_id,
            "new@alpha.example.org",
            "New Person",
            "staff",
            hash_password(given),
            must_change_password=True,
        )
    # Without the code step, the last step is out of reach.
    submit_password(client, "new@alpha.example.org", given)
    assert client.get(CHOOSE_PASSWORD).headers["Location"] == "/clinic/login"

    submit_password(client, "new@alpha.example.org", given)
    token = csrf_token(client, "/clinic/totp/setup")
    code = current_code(app, "new@alpha.example.org")
    response = client.post("/clinic/totp/setup", data={"csrf_token": token, "code": code})
    assert response.headers["Location"] == CHOOSE_PASSWORD
    assert not is_signed_in(client)
    assert "Choose your own password" in client.get(CHOOSE_PASSWORD).get_data(as_text=True)

    for password, confirm, message in (
        (given, given, "other than the one you were given"),
        (NEW, NEW + "!", "Type the same new password in both boxes"),
        ("", "", "Enter a new password"),
        ("shortone", "shortone", "12 characters or more"),
    ):
        refused = choose_password(client, password, confirm)
        assert refused.status_code == 400
        assert message in refused.get_data(as_text=True)
        assert not is_signed_in(client)

    done = choose_password(client, NEW)
    assert done.status_code == 302 and "/clinic/login" not in done.headers["Location"]
    assert is_signed_in(client)
    row = user_row(app, "new@alpha.example.org")
    assert not row.password_must_change and verify_password(row.password_hash, NEW)
    (audit,) = audit_rows(app, "password_change")
    assert (audit.user_id, audit.detail) == (row.id, "first sign-in")
    # The step is gone for good: the next sign-in goes straight in with the new password.
    fresh = app.test_client()
    assert NOT_RECOGNISED in submit_password(fresh, row.email, given).get_data(as_text=True)
    login(fresh, row.email, NEW)


def test_an_account_with_its_own_password_skips_the_step(
    app: Flask, client: FlaskClient, nurse: Account
) -> None:
    response = login(client, nurse.email, nurse.password)
    assert response.headers["Location"] == "/clinic/"
    assert audit_rows(app, "password_change") == []


# --- recent sign-in activity -------------------------------------------------------------------


def test_the_account_page_shows_ones_own_recent_sign_in_activity(
    app: Flask, client: FlaskClient, nurse: Account, admin: Account, clinic_id: int
) -> None:
    colleague = make_staff(app, clinic_id, "colleague@alpha.example.org")
    with app.app_context():
        # Older than the page looks back: left out.
        db.session.add(
            AuditEvent(
                at=utcnow() - timedelta(days=31),
                user_id=nurse.id,
                clinic_id=clinic_id,
                action="password_change",
            )
        )
        db.session.commit()
    submit_password(app.test_client(), nurse.email, "someone guessing 1234")
    submit_password(app.test_client(), colleague.email, "someone guessing 1234")
    login(client, nurse.email, nurse.password)

    html = client.get("/clinic/account").get_data(as_text=True)
    activity = html.split('id="activity"')[1]
    rows = re.findall(r"<tr><td>[^<]+</td><td>([^<]+)</td></tr>", activity)
    # Newest first; the colleague's failure and the old change are not shown.
    assert rows == ["Signed in", "Sign-in refused: wrong password"]

    # An administrator's reset of the account shows too.
    admin_browser = app.test_client()
    login(admin_browser, admin.email, admin.password)
    admin_browser.post(
        f"/clinic/staff/{nurse.id}/reset",
        data={
            "csrf_token": csrf_token(admin_browser, "/clinic/staff"),
            "password": "harbour lantern seventy 41",
        },
    )
    fresh = app.test_client()
    login(fresh, nurse.email, "harbour lantern seventy 41", new_password=NEW)
    html = fresh.get("/clinic/account").get_data(as_text=True)
    rows = re.findall(r"<tr><td>[^<]+</td><td>([^<]+)</td></tr>", html.split('id="activity"')[1])
    assert rows[:4] == [
        "Signed in",
        "Password changed",
        "Sign-in code set up",
        "Sign-in reset by an administrator",
    ]


def test_failed_steps_are_described_in_words() -> None:
    cases = {
        ("login_failure", "bad code"): "Sign-in refused: wrong code",
        ("login_failure", "bad password; locked"): (
            "Sign-in refused: wrong password. The account was locked for 15 minutes"
        ),
        ("login_failure", "code already used"): "Sign-in refused: a code that had been used",
        ("login_failure", "bad password on the account page"): (
            "Wrong current password on this page"
        ),
        ("session_expired", None): "A session ended after its time limit",
    }
    for (action, detail), text in cases.items():
        assert describe_activity(AuditEvent(action=action, detail=detail)) == text
