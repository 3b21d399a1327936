"""Administrators' pages for their clinic's staff accounts: adding, turning off, and
resetting a colleague's sign-in; and that no one else can use them."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

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
    make_submission,
    reset_sign_in,
    sessions_of,
    submit_password,
    user_row,
)
from werkzeug.test import TestResponse

from questionnaire.clinic import store
from questionnaire.clinic.auth import NOT_RECOGNISED
from questionnaire.clinic.models import StaffUser, utcnow
from questionnaire.clinic.passwords import verify_password
from questionnaire.clinic.staffaccounts import EMAIL_IN_USE
from questionnaire.extensions import db

FIRST = "harbour lantern seventy 41"  # what an administrator gives
OWN = "quiet meadow copper 5821"  # what the person then chooses
_FORM = re.compile(r'<form\b[^>]*\baction="([^"]+)"')
_CSRF_INPUT = re.compile(r'<input type="hidden" name="csrf_token" value="([^"]+)">')


def text_of(html: str) -> str:
    """The page's text with tags dropped, entities read and spaces collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def turning_off_forms(html: str) -> list[str]:
    """Where the page's forms that turn an account off post to."""
    return [action for action in _FORM.findall(html) if action.endswith("/disable")]


def turn_off_form(html: str, user_id: int) -> str:
    """The CSRF token of the page's form that turns the account off; fails if there is none."""
    action = f"/clinic/staff/{user_id}/disable"
    start = html.find(f'<form method="post" action="{action}"')
    assert start >= 0, f"no form posting to {action}"
    form = html[start : html.index("</form>", start)]
    match = _CSRF_INPUT.search(form)
    assert match, "the form has no CSRF token"
    return match.group(1)


def sign_in_nurse_and_admin(
    app: Flask, client: FlaskClient, nurse: Account, admin: Account
) -> FlaskClient:
    """Sign the nurse in on a browser of her own, then the administrator on ``client``;
    gives the nurse's browser."""
    nurse_client = app.test_client()
    login(nurse_client, nurse.email, nurse.password)
    login(client, admin.email, admin.password)
    return nurse_client


def add_account(client: FlaskClient, **fields: str) -> TestResponse:
    """Post the form that adds an account: a new colleague who meets the policy, with
    ``fields`` in place of those details."""
    form = {
        "csrf_token": csrf_token(client, "/clinic/staff/new"),
        "email": "sam@alpha.example.org",
        "display_name": "Sam Porter",
        "role": "staff",
        "password": "tidal orchard brass 2231",
        **fields,
    }
    return client.post("/clinic/staff/new", data=form)


def test_staff_cannot_open_admin_pages(app: Flask, client: FlaskClient, nurse: Account) -> None:
    login(client, nurse.email, nurse.password)
    for path in (
        "/clinic/staff",
        "/clinic/staff/new",
        f"/clinic/staff/{nurse.id}/reset",
        f"/clinic/staff/{nurse.id}/disable",
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
    assert (nurse.id, "GET clinic_staff.disable: administrators only") in refusals
    assert len(refusals) == 7
    assert user_row(app, nurse.email).disabled_at is None
    assert audit_rows(app, "staff_disable_view") == []


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
    nurse_client = sign_in_nurse_and_admin(app, client, nurse, admin)
    token = csrf_token(client, "/clinic/staff")
    response = client.post(f"/clinic/staff/{nurse.id}/disable", data={"csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/clinic/staff"
    assert user_row(app, nurse.email).disabled_at is not None
    assert not is_signed_in(nurse_client)
    (row,) = audit_rows(app, "staff_disable")
    assert (row.user_id, row.record_id) == (admin.id, str(nurse.id))
    assert "Nurse Jones can no longer sign in." in client.get("/clinic/staff").text

    response = client.post(f"/clinic/staff/{admin.id}/disable", data={"csrf_token": token})
    assert "cannot turn off your own account" in client.get("/clinic/staff").get_data(as_text=True)
    assert user_row(app, admin.email).disabled_at is None


def test_turn_off_on_the_list_leads_to_a_page_that_names_the_colleague(
    app: Flask, client: FlaskClient, admin: Account, nurse: Account
) -> None:
    nurse_client = sign_in_nurse_and_admin(app, client, nurse, admin)
    listing = client.get("/clinic/staff").text
    page_address = f"/clinic/staff/{nurse.id}/disable"
    # The list only links to the page: no form on it turns an account off.
    assert f'<a href="{page_address}"' in listing
    assert turning_off_forms(listing) == []
    assert "Turn off the account of Nurse Jones" in text_of(listing)

    response = client.get(page_address)
    assert response.status_code == 200
    html = response.text
    text = text_of(html)
    assert "<title>Turn off Nurse Jones&rsquo;s account" in html
    assert "Turn off Nurse Jones\u2019s account?" in text
    assert "Name Nurse Jones" in text and f"Email {nurse.email}" in text and "Role Staff" in text
    for sentence in (
        "They are signed out everywhere at once, on every computer and phone.",
        "They cannot sign in again.",
        "Their past reviews and their entries in the audit log stay as they are.",
        "Yes. An administrator can turn it back on from the staff accounts page. Their old "
        "password and sign-in code will not work again: you choose a first password to give "
        "them, and they set up a new sign-in code.",
    ):
        assert sentence in text, sentence
    # One form, posting here with a CSRF token, its button naming the colleague; and a way out.
    assert turning_off_forms(html) == [page_address]
    assert turn_off_form(html, nurse.id)
    button = '<button type="submit" class="button button--warning">Turn off Nurse Jones&rsquo;s'
    assert button in html
    assert '<a href="/clinic/staff">Cancel</a>' in html

    # Showing the page changes nothing, and is audited as the list is.
    assert user_row(app, nurse.email).disabled_at is None
    assert is_signed_in(nurse_client)
    assert audit_rows(app, "staff_disable") == []
    (viewed,) = audit_rows(app, "staff_disable_view")
    assert (viewed.user_id, viewed.clinic_id, viewed.record_id) == (
        admin.id,
        admin.clinic_id,
        str(nurse.id),
    )


def test_the_page_s_button_turns_the_account_off_and_the_past_stays(
    app: Flask, client: FlaskClient, admin: Account, nurse: Account, clinic_id: int
) -> None:
    submission_id = make_submission(app, clinic_id, name="Ada Patient")
    with app.app_context():
        store.mark_reviewed(clinic_id, submission_id, nurse.id, "Rang the patient.")
    nurse_client = sign_in_nurse_and_admin(app, client, nurse, admin)
    page = client.get(f"/clinic/staff/{nurse.id}/disable").text

    done = client.post(
        f"/clinic/staff/{nurse.id}/disable", data={"csrf_token": turn_off_form(page, nurse.id)}
    )
    assert done.status_code == 302 and done.headers["Location"] == "/clinic/staff"
    assert user_row(app, nurse.email).disabled_at is not None
    assert not is_signed_in(nurse_client)
    assert all(session.ended_at is not None for session in sessions_of(app, nurse.id))
    (row,) = audit_rows(app, "staff_disable")
    assert (row.user_id, row.record_id) == (admin.id, str(nurse.id))
    listing = text_of(client.get("/clinic/staff").text)
    assert "Nurse Jones can no longer sign in." in listing and "Turned off on" in listing
    assert "Turn off the account of Nurse Jones" not in listing
    # What the page promised stays: her review, and the audit rows of what she did.
    assert "By Nurse Jones" in text_of(client.get(f"/clinic/submissions/{submission_id}").text)
    assert [row.user_id for row in audit_rows(app, "review")] == [nurse.id]
    assert any(row.user_id == nurse.id for row in audit_rows(app, "login_success"))
    refused = submit_password(app.test_client(), nurse.email, nurse.password)
    assert NOT_RECOGNISED in refused.text


def test_an_account_already_off_gets_the_way_back_and_turning_off_again_changes_nothing(
    app: Flask, client: FlaskClient, admin: Account, nurse: Account
) -> None:
    login(client, admin.email, admin.password)
    page_address = f"/clinic/staff/{nurse.id}/disable"
    token = turn_off_form(client.get(page_address).text, nurse.id)
    client.post(page_address, data={"csrf_token": token})
    turned_off_at = user_row(app, nurse.email).disabled_at
    assert turned_off_at is not None

    response = client.get(page_address)
    assert response.status_code == 200
    html = response.text
    text = text_of(html)
    assert "Nurse Jones\u2019s account is already turned off" in text
    assert f"Email {nurse.email}" in text and "Turned off " in text
    assert "They cannot sign in. To let them sign in again, turn the account back on" in text
    # No button to turn it off again: the ways back on, and back to the list, instead.
    assert turning_off_forms(html) == []
    assert "Turn off Nurse Jones" not in text and "Cancel" not in text
    assert (
        f'href="/clinic/staff/{nurse.id}/reset" class="button button--secondary">Turn back on'
        in html
    )
    assert 'href="/clinic/staff">Back to staff accounts' in html

    # A second post (another tab, a double click) is answered, and changes nothing.
    again = client.post(page_address, data={"csrf_token": token})
    assert again.status_code == 302 and again.headers["Location"] == "/clinic/staff"
    assert "The account of Nurse Jones was already turned off." in client.get("/clinic/staff").text
    assert user_row(app, nurse.email).disabled_at == turned_off_at
    assert len(audit_rows(app, "staff_disable")) == 1
    assert len(audit_rows(app, "staff_disable_view")) == 2


def test_the_turn_off_page_is_not_found_for_another_clinic_or_no_account_and_not_for_oneself(
    app: Flask, client: FlaskClient, admin: Account
) -> None:
    elsewhere = make_staff(app, make_clinic(app, "beta", "Beta Clinic"), "x@beta.example.org")
    login(client, admin.email, admin.password)
    for user_id in (elsewhere.id, 999_999):
        response = client.get(f"/clinic/staff/{user_id}/disable")
        assert response.status_code == 404
        assert "Page not found" in response.text
        assert elsewhere.email not in response.text
    refusals = [(row.record_id, row.detail) for row in audit_rows(app, "access_denied")]
    assert refusals == [
        (str(elsewhere.id), "no such staff account in this clinic"),
        ("999999", "no such staff account in this clinic"),
    ]
    own = client.get(f"/clinic/staff/{admin.id}/disable")
    assert own.status_code == 302 and own.headers["Location"] == "/clinic/staff"
    assert "You cannot turn off your own account." in client.get("/clinic/staff").text
    assert audit_rows(app, "staff_disable_view") == []
    assert user_row(app, elsewhere.email).disabled_at is None
    assert user_row(app, admin.email).disabled_at is None


def test_an_address_used_in_another_clinic_is_refused_without_saying_where(
    app: Flask, client: FlaskClient, admin: Account
) -> None:
    elsewhere = make_staff(app, make_clinic(app, "beta", "Beta Clinic"), "kim@beta.example.org")
    login(client, admin.email, admin.password)
    response = add_account(client, email=elsewhere.email, display_name="Kim Other")
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
    response = add_account(client, **{field: value})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert len(audit_rows(app, "staff_create")) == 0


def test_admin_resets_a_locked_out_colleague_who_then_chooses_a_new_password(
    app: Flask, client: FlaskClient, admin: Account, nurse: Account
) -> None:
    nurse_browser = sign_in_nurse_and_admin(app, client, nurse, admin)
    with app.app_context():
        user = db.session.get(StaffUser, nurse.id)
        assert user is not None
        user.locked_until = utcnow() + timedelta(minutes=10)
        user.failed_logins = 3
        db.session.commit()
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


def test_a_reset_is_refused_for_oneself_and_another_clinic(
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

    assert audit_rows(app, "staff_reset") == []


def test_an_administrator_turns_an_account_back_on_with_a_new_first_password_and_code(
    app: Flask, client: FlaskClient, admin: Account, nurse: Account
) -> None:
    login(client, admin.email, admin.password)
    client.post(
        f"/clinic/staff/{nurse.id}/disable",
        data={"csrf_token": csrf_token(client, "/clinic/staff")},
    )
    assert user_row(app, nurse.email).disabled_at is not None
    address = f"/clinic/staff/{nurse.id}/reset"
    listing = client.get("/clinic/staff").text
    assert (
        f'<a href="{address}" class="button button--secondary button--small">Turn back on'
        in listing
    )
    assert "Turn back on the account of Nurse Jones" in text_of(listing)

    page = client.get(address)
    assert page.status_code == 200
    text = text_of(page.text)
    assert "Turn back on Nurse Jones\u2019s account" in text
    assert "Their account was turned off on " in text
    assert "removes their old password and sign-in code, so neither works again" in text
    assert user_row(app, nurse.email).disabled_at is not None  # showing the page changes nothing
    # A first password that is not allowed: the page again, the account still off.
    refused = reset_sign_in(client, nurse.id, "short")
    assert refused.status_code == 400
    assert "Turn back on Nurse Jones\u2019s account" in text_of(refused.text)
    assert user_row(app, nurse.email).disabled_at is not None

    done = reset_sign_in(client, nurse.id, FIRST)
    assert done.headers["Location"] == "/clinic/staff"
    assert "Account turned back on for Nurse Jones" in client.get("/clinic/staff").text
    row = user_row(app, nurse.email)
    assert row.disabled_at is None and row.password_must_change and row.totp_secret is None
    (audit,) = audit_rows(app, "staff_enable")
    assert (audit.user_id, audit.record_id) == (admin.id, str(nurse.id))
    assert audit_rows(app, "staff_reset") == []

    # Never with what it had: the old password is refused, the first one leads to a new code.
    fresh = app.test_client()
    assert NOT_RECOGNISED in submit_password(fresh, nurse.email, nurse.password).text
    login(fresh, nurse.email, FIRST, new_password=OWN)
    assert is_signed_in(fresh)
