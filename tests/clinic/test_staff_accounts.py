"""Administrators' pages for their clinic's staff accounts: adding, turning off, and
resetting a colleague's sign-in; and that no one else can use them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from helpers import (
    Account,
    audit_rows,
    csrf_token,
    is_signed_in,
    login,
    logout,
    make_clinic,
    make_staff,
    reset_sign_in,
    sessions_of,
    submit_password,
    user_row,
)

from questionnaire.clinic.auth import NOT_RECOGNISED
from questionnaire.clinic.models import StaffUser, utcnow
from questionnaire.clinic.passwords import verify_password
from questionnaire.clinic.staffaccounts import EMAIL_IN_USE
from questionnaire.extensions import db

FIRST = "harbour lantern seventy 41"  # what an administrator gives
OWN = "quiet meadow copper 5821"  # what the person then chooses


def test_staff_cannot_open_admin_pages(app: Flask, client: FlaskClient, nurse: Account) -> None:
    login(client, nurse.email, nurse.password)
    for path in (
        "/clinic/staff",
        "/clinic/staff/new",
        f"/clinic/staff/{nurse.id}/reset",
        "/clinic/audit",
    ):
        response = client.get(path)
        assert response.status_code == 403
        assert "for administrators" in response.get_data(as_text=True)
    token = csrf_token(client, "/clinic/")
    for action in ("disable", "reset"):
        response = client.post(
            f"/clinic/staff/{nurse.id}/{action}", data={"csrf_token": token, "password": FIRST}
        )
        assert response.status_code == 403
    assert verify_password(user_row(app, nurse.email).password_hash, nurse.password)
    # Each refusal is audited, naming the page asked for.
    refusals = [(row.user_id, row.detail) for row in audit_rows(app, "access_denied")]
    assert refusals[0] == (nurse.id, "GET clinic_staff.index: administrators only")
    assert (nurse.id, "GET clinic.audit_log: administrators only") in refusals
    assert (nurse.id, "POST clinic_staff.reset: administrators only") in refusals
    assert len(refusals) == 6


def test_the_staff_list_is_audited_each_time_it_is_shown(
    app: Flask, client: FlaskClient, admin: Account, nurse: Account
) -> None:
    login(client, admin.email, admin.password)
    assert nurse.email in client.get("/clinic/staff").get_data(as_text=True)
    client.get("/clinic/staff")
    rows = audit_rows(app, "staff_list_view")
    assert [(row.user_id, row.clinic_id) for row in rows] == [(admin.id, admin.clinic_id)] * 2


def test_admin_adds_an_account_that_must_meet_the_policy(
    app: Flask, client: FlaskClient, admin: Account
) -> None:
    login(client, admin.email, admin.password)
    token = csrf_token(client, "/clinic/staff/new")
    form = {
        "csrf_token": token,
        "email": "Sam.Porter@alpha.example.org",
        "display_name": "Sam Porter",
        "role": "boss",
        "password": "password",
    }
    response = client.post("/clinic/staff/new", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Select a role: staff or admin" in html
    assert "12 characters or more" in html and "too common" in html
    assert 'value="Sam Porter"' in html and 'value="password"' not in html

    form.update(role="staff", password="sam.porter garden 2231")
    response = client.post("/clinic/staff/new", data=form)
    assert "must not contain the first part of the email" in response.get_data(as_text=True)

    form.update(password="tidal orchard brass 2231")
    response = client.post("/clinic/staff/new", data=form)
    assert response.status_code == 302
    created = user_row(app, "sam.porter@alpha.example.org")
    assert (created.clinic_id, created.role, created.totp_confirmed_at) == (
        admin.clinic_id,
        "staff",
        None,
    )
    (row,) = audit_rows(app, "staff_create")
    assert (row.user_id, row.clinic_id, row.record_id) == (
        admin.id,
        admin.clinic_id,
        str(created.id),
    )
    assert "Sam Porter" in client.get("/clinic/staff").get_data(as_text=True)

    form.update(password="another orchard brass 88")
    duplicate = client.post("/clinic/staff/new", data=form)
    assert duplicate.status_code == 400
    assert EMAIL_IN_USE in duplicate.get_data(as_text=True)
    (refused,) = audit_rows(app, "staff_create_refused")
    assert (refused.user_id, refused.detail) == (admin.id, "email address in use")

    logout(client)
    # Sam sets up a code, then must choose a password the administrator does not know.
    assert user_row(app, "sam.porter@alpha.example.org").password_must_change
    fresh = app.test_client()
    response = submit_password(fresh, "sam.porter@alpha.example.org", "tidal orchard brass 2231")
    assert response.headers["Location"] == "/clinic/totp/setup"
    login(fresh, "sam.porter@alpha.example.org", "tidal orchard brass 2231", new_password=OWN)
    assert not user_row(app, "sam.porter@alpha.example.org").password_must_change


def test_admin_turns_off_an_account_and_its_sessions_end(
    app: Flask, client: FlaskClient, admin: Account, nurse: Account
) -> None:
    nurse_client = app.test_client()
    login(nurse_client, nurse.email, nurse.password)
    login(client, admin.email, admin.password)
    token = csrf_token(client, "/clinic/staff")
    response = client.post(f"/clinic/staff/{nurse.id}/disable", data={"csrf_token": token})
    assert response.status_code == 302
    assert user_row(app, nurse.email).disabled_at is not None
    assert not is_signed_in(nurse_client)
    (row,) = audit_rows(app, "staff_disable")
    assert (row.user_id, row.record_id) == (admin.id, str(nurse.id))

    response = client.post(f"/clinic/staff/{admin.id}/disable", data={"csrf_token": token})
    assert "cannot turn off your own account" in client.get("/clinic/staff").get_data(as_text=True)
    assert user_row(app, admin.email).disabled_at is None


def test_an_address_used_in_another_clinic_is_refused_without_saying_where(
    app: Flask, client: FlaskClient, admin: Account
) -> None:
    elsewhere = make_staff(app, make_clinic(app, "beta", "Beta Clinic"), "kim@beta.example.org")
    login(client, admin.email, admin.password)
    form = {
        "csrf_token": csrf_token(client, "/clinic/staff/new"),
        "email": elsewhere.email,
        "display_name": "Kim Other",
        "role": "staff",
        "password": "tidal orchard brass 2231",
    }
    response = client.post("/clinic/staff/new", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert EMAIL_IN_USE in html
    assert "already exists" not in html and "Beta" not in html


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "display_name",
            "Evil\u0007Name",
            "Name must only include letters, spaces and punctuation",
        ),
        ("display_name", "Abc\u202eevil", "Name must only include letters, spaces and punctuation"),
        ("email", "w2\u0007@alpha.example.org", "Enter an email address in the correct format"),
        ("email", "w2@alpha.example.org\u200b", "Enter an email address in the correct format"),
    ],
)
def test_names_and_addresses_with_hidden_characters_are_refused(
    app: Flask, client: FlaskClient, admin: Account, field: str, value: str, message: str
) -> None:
    login(client, admin.email, admin.password)
    form = {
        "csrf_token": csrf_token(client, "/clinic/staff/new"),
        "email": "sam@alpha.example.org",
        "display_name": "Sam Porter",
        "role": "staff",
        "password": "tidal orchard brass 2231",
        field: value,
    }
    response = client.post("/clinic/staff/new", data=form)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert len(audit_rows(app, "staff_create")) == 0


def test_admin_resets_a_locked_out_colleague_who_then_chooses_a_new_password(
    app: Flask, client: FlaskClient, admin: Account, nurse: Account
) -> None:
    nurse_browser = app.test_client()
    login(nurse_browser, nurse.email, nurse.password)
    with app.app_context():
        user = db.session.get(StaffUser, nurse.id)
        assert user is not None
        user.locked_until = utcnow() + timedelta(minutes=10)
        user.failed_logins = 3
        db.session.commit()
    login(client, admin.email, admin.password)
    page = client.get(f"/clinic/staff/{nurse.id}/reset").get_data(as_text=True)
    assert "Reset sign-in for Nurse Jones" in page

    # A first password must meet the policy, like any other.
    missing = reset_sign_in(client, nurse.id, "")
    assert missing.status_code == 400
    assert "Enter a first password" in missing.get_data(as_text=True)
    weak = reset_sign_in(client, nurse.id, "password")
    assert weak.status_code == 400
    assert "too common" in weak.get_data(as_text=True)
    assert verify_password(user_row(app, nurse.email).password_hash, nurse.password)

    done = reset_sign_in(client, nurse.id, FIRST)
    assert done.status_code == 302 and done.headers["Location"] == "/clinic/staff"
    row = user_row(app, nurse.email)
    assert row.password_must_change and verify_password(row.password_hash, FIRST)
    assert (row.totp_secret, row.totp_confirmed_at, row.totp_last_step) == (None, None, None)
    assert (row.locked_until, row.failed_logins) == (None, 0)
    # Signed out everywhere at once.
    assert not is_signed_in(nurse_browser)
    assert all(session.ended_at is not None for session in sessions_of(app, nurse.id))
    (audit,) = audit_rows(app, "staff_reset")
    assert (audit.user_id, audit.record_id, audit.detail) == (
        admin.id,
        str(nurse.id),
        "sessions ended=1",
    )
    listing = client.get("/clinic/staff").get_data(as_text=True)
    assert "Sign-in reset for Nurse Jones" in listing

    # The old password no longer works; the first one leads to a new code, then her own.
    fresh = app.test_client()
    refused = submit_password(fresh, nurse.email, nurse.password)
    assert NOT_RECOGNISED in refused.get_data(as_text=True)
    assert submit_password(fresh, nurse.email, FIRST).headers["Location"] == "/clinic/totp/setup"
    login(fresh, nurse.email, FIRST, new_password=OWN)
    assert is_signed_in(fresh)
    assert not user_row(app, nurse.email).password_must_change


def test_a_reset_is_refused_for_oneself_a_turned_off_account_and_another_clinic(
    app: Flask, client: FlaskClient, admin: Account, nurse: Account
) -> None:
    elsewhere = make_staff(app, make_clinic(app, "beta", "Beta Clinic"), "x@beta.example.org")
    login(client, admin.email, admin.password)

    own = reset_sign_in(client, admin.id, FIRST)
    assert own.headers["Location"] == "/clinic/staff"
    assert "use “Your account”" in client.get("/clinic/staff").get_data(as_text=True)
    assert not user_row(app, admin.email).password_must_change

    other = client.post(
        f"/clinic/staff/{elsewhere.id}/reset",
        data={"csrf_token": csrf_token(client, "/clinic/staff"), "password": FIRST},
    )
    assert other.status_code == 404
    assert client.get(f"/clinic/staff/{elsewhere.id}/reset").status_code == 404
    assert verify_password(user_row(app, elsewhere.email).password_hash, elsewhere.password)

    token = csrf_token(client, "/clinic/staff")
    client.post(f"/clinic/staff/{nurse.id}/disable", data={"csrf_token": token})
    turned_off = reset_sign_in(client, nurse.id, FIRST)
    assert turned_off.headers["Location"] == "/clinic/staff"
    assert "is turned off: it cannot be reset" in client.get("/clinic/staff").get_data(as_text=True)
    assert verify_password(user_row(app, nurse.email).password_hash, nurse.password)
    assert audit_rows(app, "staff_reset") == []
