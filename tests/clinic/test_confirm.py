"""Administrators give their password again before a task on other accounts, once the
password was last given in the session more than 15 minutes ago."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from helpers import Account, audit_rows, csrf_token, is_signed_in, login, sessions_of, user_row
from sqlalchemy import update

from questionnaire.clinic.confirm import ASK_AGAIN, CONFIRM_WINDOW
from questionnaire.clinic.models import StaffSession, utcnow
from questionnaire.clinic.passwords import verify_password
from questionnaire.extensions import db

CONFIRM = "/clinic/confirm"
FIRST = "harbour lantern seventy 41"


def last_confirmed(app: Flask, user_id: int, when: datetime | None) -> None:
    """Make every session of the account look as if its password was last given ``when``."""
    with app.app_context():
        db.session.execute(
            update(StaffSession).where(StaffSession.user_id == user_id).values(confirmed_at=when)
        )
        db.session.commit()


def confirm(client: FlaskClient, password: str, next_path: str | None) -> tuple[int, str]:
    data = {"csrf_token": csrf_token(client, CONFIRM), "password": password}
    if next_path is not None:
        data["next"] = next_path
    response = client.post(CONFIRM, data=data)
    return response.status_code, response.headers.get("Location") or response.get_data(as_text=True)


def test_signing_in_counts_as_giving_the_password(
    app: Flask, client: FlaskClient, admin: Account
) -> None:
    login(client, admin.email, admin.password)
    (row,) = sessions_of(app, admin.id)
    assert row.confirmed_at == row.created_at
    assert client.get("/clinic/staff/new").status_code == 200


@pytest.mark.parametrize("given", ["16 minutes ago", "never, in a session from before"])
def test_a_task_page_asks_for_the_password_then_goes_back(
    app: Flask, client: FlaskClient, admin: Account, given: str
) -> None:
    login(client, admin.email, admin.password)
    when = utcnow() - CONFIRM_WINDOW - timedelta(minutes=1) if given.startswith("16") else None
    last_confirmed(app, admin.id, when)

    asked = client.get("/clinic/staff/new")
    assert asked.status_code == 302
    assert asked.headers["Location"] == "/clinic/confirm?next=/clinic/staff/new"
    page = client.get(asked.headers["Location"]).get_data(as_text=True)
    assert "Confirm your password" in page
    assert 'name="next" value="/clinic/staff/new"' in page

    assert confirm(client, admin.password, "/clinic/staff/new") == (302, "/clinic/staff/new")
    assert client.get("/clinic/staff/new").status_code == 200
    (row,) = sessions_of(app, admin.id)
    assert row.confirmed_at is not None and utcnow() - row.confirmed_at < timedelta(minutes=1)
    assert [row.user_id for row in audit_rows(app, "password_confirmed")] == [admin.id]
    # Shown to the person among their sign-in activity.
    assert "Password confirmed for an administrator" in client.get("/clinic/account").text


def test_a_task_posted_after_the_window_changes_nothing_and_asks_first(
    app: Flask, client: FlaskClient, admin: Account, nurse: Account
) -> None:
    login(client, admin.email, admin.password)
    token = csrf_token(client, "/clinic/staff")
    last_confirmed(app, admin.id, utcnow() - CONFIRM_WINDOW - timedelta(seconds=5))

    reset = client.post(
        f"/clinic/staff/{nurse.id}/reset", data={"csrf_token": token, "password": FIRST}
    )
    disable = client.post(f"/clinic/staff/{nurse.id}/disable", data={"csrf_token": token})

    assert reset.headers["Location"] == f"/clinic/confirm?next=/clinic/staff/{nurse.id}/reset"
    # Back to the page that names the colleague, to be asked again before anything changes.
    assert disable.headers["Location"] == f"/clinic/confirm?next=/clinic/staff/{nurse.id}/disable"
    account = user_row(app, nurse.email)
    assert verify_password(account.password_hash, nurse.password)
    assert account.disabled_at is None and account.totp_secret is not None
    assert audit_rows(app, "staff_reset") == audit_rows(app, "staff_disable") == []
    assert ASK_AGAIN in client.get("/clinic/confirm?next=/clinic/staff").get_data(as_text=True)


def test_the_turn_off_page_asks_for_the_password_then_comes_back_to_it(
    app: Flask, client: FlaskClient, admin: Account, nurse: Account
) -> None:
    login(client, admin.email, admin.password)
    last_confirmed(app, admin.id, utcnow() - CONFIRM_WINDOW - timedelta(minutes=1))
    page = f"/clinic/staff/{nurse.id}/disable"

    asked = client.get(page)
    assert asked.headers["Location"] == f"/clinic/confirm?next={page}"
    assert audit_rows(app, "staff_disable_view") == []
    assert confirm(client, admin.password, page) == (302, page)
    assert "Turn off Nurse Jones&rsquo;s account" in client.get(page).get_data(as_text=True)
    assert user_row(app, nurse.email).disabled_at is None


def test_a_wrong_password_counts_and_the_fifth_signs_out_everywhere(
    app: Flask, client: FlaskClient, admin: Account
) -> None:
    login(client, admin.email, admin.password)
    last_confirmed(app, admin.id, None)
    for attempt in range(1, 5):
        status, page = confirm(client, "not my password at all", "/clinic/staff/new")
        assert status == 400
        assert "Your current password is not right" in page
        assert user_row(app, admin.email).failed_logins == attempt
    assert [row.detail for row in audit_rows(app, "login_failure")] == [
        "bad password when confirming"
    ] * 4
    assert "Wrong password when asked to confirm it" in client.get("/clinic/account").text

    status, location = confirm(client, "not my password at all", "/clinic/staff/new")

    assert (status, location) == (302, "/clinic/login")
    assert user_row(app, admin.email).locked_until is not None
    assert not is_signed_in(client)
    assert all(row.ended_at is not None for row in sessions_of(app, admin.id))


@pytest.mark.parametrize(
    "next_path", ["https://elsewhere.example/", "//elsewhere.example/x", "/sheet", None]
)
def test_only_a_clinic_page_is_gone_back_to(
    client: FlaskClient, admin: Account, next_path: str | None
) -> None:
    login(client, admin.email, admin.password)
    assert confirm(client, admin.password, next_path) == (302, "/clinic/")


def test_staff_may_confirm_but_still_cannot_do_an_administrators_task(
    client: FlaskClient, nurse: Account
) -> None:
    login(client, nurse.email, nurse.password)
    assert confirm(client, nurse.password, "/clinic/staff/new") == (302, "/clinic/staff/new")
    assert client.get("/clinic/staff/new").status_code == 403
