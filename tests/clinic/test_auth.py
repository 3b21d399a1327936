"""Staff sign-in: sessions on the server, timeouts, lockout, TOTP, password policy, admin pages."""

from __future__ import annotations

import hashlib
import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from helpers import (
    CHOOSE_PASSWORD,
    PASSWORD,
    Account,
    audit_rows,
    choose_password,
    code_at,
    csrf_token,
    current_code,
    is_signed_in,
    login,
    logout,
    make_clinic,
    make_staff,
    sessions_of,
    submit_password,
    user_row,
    wait_for_next_code,
)
from werkzeug.test import TestResponse

from questionnaire import create_app
from questionnaire.clinic import auth, passwords
from questionnaire.clinic.auth import NOT_RECOGNISED, PENDING_KEY
from questionnaire.clinic.models import StaffSession, StaffUser
from questionnaire.clinic.passwords import check_password_policy, common_passwords
from questionnaire.extensions import db

EMAIL = "nurse.jones@alpha.example.org"


@pytest.fixture
def nurse(app: Flask, clinic_id: int) -> Account:
    return make_staff(app, clinic_id, EMAIL)


def without_tokens(html: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]+"', "", html)


# --- every clinic page needs a session -----------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/clinic/",
        "/clinic/submissions/1",
        "/clinic/submissions/1/fhir.json",
        "/clinic/export.csv",
        "/clinic/export.json",
        "/clinic/fhir/Questionnaire.json",
        "/clinic/audit",
        "/clinic/staff",
        "/clinic/staff/new",
    ],
)
def test_clinic_pages_send_visitors_to_sign_in(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/clinic/login?next=")


def test_sign_in_page_is_a_form_with_csrf(client: FlaskClient) -> None:
    response = client.get("/clinic/login")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'name="csrf_token"' in html
    assert 'autocomplete="current-password"' in html


def test_sign_in_without_csrf_token_is_refused(client: FlaskClient, nurse: Account) -> None:
    response = client.post("/clinic/login", data={"email": nurse.email, "password": PASSWORD})
    assert response.status_code == 400
    assert not is_signed_in(client)


def test_sign_in_and_out(app: Flask, client: FlaskClient, nurse: Account) -> None:
    login(client, nurse.email, nurse.password)
    assert is_signed_in(client)
    response = logout(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/clinic/login"
    # The browser is asked to drop cached pages and storage of the staff pages.
    assert response.headers["Clear-Site-Data"] == '"cache", "storage"'
    assert "You have signed out" in client.get("/clinic/login").get_data(as_text=True)
    assert not is_signed_in(client)
    (row,) = sessions_of(app, nurse.id)
    assert row.ended_at is not None
    # Between the two, the list was opened twice (to check, then to read the sign-out form).
    assert [r.action for r in audit_rows(app) if r.user_id == nurse.id][-4:] == [
        "login_success",
        "list_view",
        "list_view",
        "logout",
    ]


def test_empty_fields_are_named(client: FlaskClient) -> None:
    token = csrf_token(client, "/clinic/login")
    response = client.post(
        "/clinic/login", data={"csrf_token": token, "email": " ", "password": ""}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "<title>Error: " in html
    assert 'href="#email">Enter your email address' in html
    assert 'href="#password">Enter your password' in html


def test_the_session_holds_only_a_fresh_token(
    app: Flask, client: FlaskClient, nurse: Account
) -> None:
    client.get("/clinic/login")
    with client.session_transaction() as before:
        before["planted"] = "from before sign-in"
        old_csrf = before.get("csrf_token")
    login(client, nurse.email, nurse.password)
    with client.session_transaction() as after:
        assert "planted" not in after
        assert after.get("csrf_token") != old_csrf
        assert PENDING_KEY not in after
        token = after["_user_id"]
        assert set(after) <= {"_user_id", "_fresh", "_id", "csrf_token", "_flashes"}
    assert str(nurse.id) != token and nurse.email not in token
    (row,) = sessions_of(app, nurse.id)
    assert row.id == hashlib.sha256(token.encode()).hexdigest()

    logout(client)
    login(client, nurse.email, nurse.password)
    with client.session_transaction() as again:
        assert again["_user_id"] != token


def test_a_copied_cookie_stops_working_after_sign_out(
    app: Flask, client: FlaskClient, nurse: Account
) -> None:
    login(client, nurse.email, nurse.password)
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    assert is_signed_in(thief)
    logout(client)
    assert not is_signed_in(thief)


def test_idle_sessions_end(app: Flask, client: FlaskClient, nurse: Account) -> None:
    login(client, nurse.email, nurse.password)
    with app.app_context():
        row = db.session.scalar(db.select(StaffSession))
        row.last_seen_at = datetime.now(UTC) - timedelta(minutes=31)
        db.session.commit()
    assert not is_signed_in(client)
    (row,) = sessions_of(app, nurse.id)
    assert row.ended_at is not None
    assert audit_rows(app, "session_expired")


def test_sessions_end_after_the_absolute_limit_even_when_busy(
    app: Flask, client: FlaskClient, nurse: Account
) -> None:
    login(client, nurse.email, nurse.password)
    with app.app_context():
        row = db.session.scalar(db.select(StaffSession))
        row.created_at = datetime.now(UTC) - timedelta(hours=12, minutes=1)
        row.last_seen_at = datetime.now(UTC)
        db.session.commit()
    assert not is_signed_in(client)


def test_last_seen_is_written_at_most_once_a_minute(
    app: Flask, client: FlaskClient, nurse: Account
) -> None:
    login(client, nurse.email, nurse.password)

    def set_last_seen(ago: timedelta) -> datetime:
        with app.app_context():
            row = db.session.scalar(db.select(StaffSession))
            row.last_seen_at = datetime.now(UTC) - ago
            db.session.commit()
            return row.last_seen_at

    recent = set_last_seen(timedelta(seconds=10))
    assert is_signed_in(client)
    assert sessions_of(app, nurse.id)[0].last_seen_at == recent
    older = set_last_seen(timedelta(minutes=5))
    assert is_signed_in(client)
    assert sessions_of(app, nurse.id)[0].last_seen_at > older + timedelta(minutes=4)


def test_unknown_account_and_wrong_password_look_the_same(
    app: Flask, client: FlaskClient, nurse: Account
) -> None:
    unknown = submit_password(client, "nobody@alpha.example.org", PASSWORD)
    wrong = submit_password(client, nurse.email, "not the password at all")
    assert unknown.status_code == wrong.status_code == 400
    unknown_html = without_tokens(unknown.get_data(as_text=True))
    wrong_html = without_tokens(wrong.get_data(as_text=True))
    assert NOT_RECOGNISED in wrong_html
    assert unknown_html.replace("nobody@alpha.example.org", nurse.email) == wrong_html


def test_an_unknown_account_spends_one_verify(
    client: FlaskClient, nurse: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = count_verifies(monkeypatch)
    submit_password(client, "nobody@alpha.example.org", PASSWORD)
    assert len(calls) == 1


def count_verifies(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Swap in a hasher that records each verify (the real one has read-only methods)."""
    calls: list[str] = []

    class CountingHasher(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:
            calls.append(str(hash))
            return super().verify(hash, password)

    monkeypatch.setattr(passwords, "hasher", CountingHasher())
    return calls


def test_failures_and_lockout_are_audited_without_the_typed_email(
    app: Flask, client: FlaskClient, nurse: Account
) -> None:
    submit_password(client, "typed.by.someone@else.example.org", PASSWORD)
    submit_password(client, nurse.email, "wrong password here")
    unknown, bad = audit_rows(app, "login_failure")
    assert (unknown.user_id, unknown.clinic_id, unknown.detail) == (None, None, "unknown account")
    assert (bad.user_id, bad.clinic_id, bad.detail) == (nurse.id, nurse.clinic_id, "bad password")
    for row in audit_rows(app):
        assert "typed.by.someone" not in f"{row.detail} {row.record_id}"


def test_five_failures_lock_the_account_before_its_password_is_checked(
    app: Flask, client: FlaskClient, nurse: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(5):
        assert submit_password(client, nurse.email, "wrong password here").status_code == 400
    locked = user_row(app, nurse.email)
    assert locked.locked_until is not None
    assert locked.locked_until > datetime.now(UTC) + timedelta(minutes=14)

    calls = count_verifies(monkeypatch)
    response = submit_password(client, nurse.email, nurse.password)
    assert response.status_code == 400
    assert NOT_RECOGNISED in response.get_data(as_text=True)
    # The account's own hash is not checked; one verify of a fixed hash takes its time, as
    # for an unknown account, so the answer's timing does not tell that the account exists.
    assert len(calls) == 1 and calls[0] != locked.password_hash
    assert not is_signed_in(client)

    with app.app_context():
        user = db.session.get(StaffUser, nurse.id)
        user.locked_until = datetime.now(UTC) - timedelta(seconds=1)
        db.session.commit()
    monkeypatch.undo()
    login(client, nurse.email, nurse.password)
    assert user_row(app, nurse.email).failed_logins == 0


def test_failures_add_up_across_app_instances(app: Flask, tmp_path: Path, nurse: Account) -> None:
    other = create_app({**app.config, "INSTANCE_PATH": str(tmp_path / "instance2")})
    for index in range(5):
        instance = app if index % 2 == 0 else other
        submit_password(instance.test_client(), nurse.email, "wrong password here")
    assert user_row(app, nurse.email).locked_until is not None


def test_a_right_password_alone_does_not_sign_in(client: FlaskClient, nurse: Account) -> None:
    response = submit_password(client, nurse.email, nurse.password)
    assert response.headers["Location"] == "/clinic/login/code"
    assert not is_signed_in(client)


def test_wrong_codes_count_towards_lockout(app: Flask, client: FlaskClient, nurse: Account) -> None:
    submit_password(client, nurse.email, nurse.password)
    right = current_code(app, nurse.email)
    wrong = f"{(int(right) + 500_000) % 1_000_000:06d}"
    for attempt in range(5):
        token = csrf_token(client, "/clinic/login/code")
        response = client.post("/clinic/login/code", data={"csrf_token": token, "code": wrong})
        if attempt < 4:
            assert response.status_code == 400
            assert NOT_RECOGNISED in response.get_data(as_text=True)
    assert response.status_code == 302
    assert response.headers["Location"] == "/clinic/login"
    assert user_row(app, nurse.email).locked_until is not None
    assert [r.detail for r in audit_rows(app, "login_failure")][-1] == "bad code; locked"


def test_a_malformed_code_is_explained(client: FlaskClient, nurse: Account) -> None:
    submit_password(client, nurse.email, nurse.password)
    token = csrf_token(client, "/clinic/login/code")
    for code in ("12ab", "\u0661\u0662\u0663\u0664\u0665\u0666", "123\u00b2\u00b2\u00b2"):
        response = client.post("/clinic/login/code", data={"csrf_token": token, "code": code})
        assert response.status_code == 400
        assert "Enter the code as 6 digits" in response.get_data(as_text=True)


def test_the_code_step_needs_the_password_step(client: FlaskClient) -> None:
    for path in ("/clinic/login/code", "/clinic/totp/setup"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"] == "/clinic/login"


def test_the_code_step_expires(app: Flask, client: FlaskClient, nurse: Account) -> None:
    submit_password(client, nurse.email, nurse.password)
    with client.session_transaction() as state:
        pending = dict(state[PENDING_KEY])
        pending["since"] -= 6 * 60
        state[PENDING_KEY] = pending
    response = client.get("/clinic/login/code")
    assert response.headers["Location"] == "/clinic/login"


def copy_of_cookie(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of ``client``'s session cookie as it is now."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def test_a_copy_of_the_cookie_from_between_the_steps_cannot_finish_a_sign_in_done_since(
    app: Flask, client: FlaskClient, clinic_id: int
) -> None:
    account = make_staff(app, clinic_id, "new@alpha.example.org", must_change_password=True)
    assert submit_password(client, account.email, account.password).status_code == 302
    codes = send_code(client, current_code(app, account.email))
    assert codes.headers["Location"] == CHOOSE_PASSWORD
    token = csrf_token(client, CHOOSE_PASSWORD)
    thief = copy_of_cookie(app, client)  # both steps passed, the password still to choose

    assert choose_password(client, "quiet meadow copper 5821").headers["Location"] == "/clinic/"
    logout(client)

    own = "thief's own pass 2024"
    posted = {"csrf_token": token, "new_password": own, "confirm_password": own}
    for replay in (thief.get(CHOOSE_PASSWORD), thief.post(CHOOSE_PASSWORD, data=posted)):
        assert (replay.status_code, replay.headers["Location"]) == (302, "/clinic/login")
    assert not is_signed_in(thief)
    assert len(audit_rows(app, "login_success")) == 1


def test_a_reset_ends_a_sign_in_half_done_with_the_old_password(
    app: Flask, client: FlaskClient, clinic_id: int
) -> None:
    account = make_staff(app, clinic_id, "new@alpha.example.org", must_change_password=True)
    submit_password(client, account.email, account.password)
    send_code(client, current_code(app, account.email))
    with app.app_context():  # an administrator's reset gives a new first password
        user = db.session.get(StaffUser, account.id)
        assert user is not None
        user.password_hash = passwords.hash_password("harbour lantern seventy 41")
        db.session.commit()

    refused = client.get(CHOOSE_PASSWORD)

    assert (refused.status_code, refused.headers["Location"]) == (302, "/clinic/login")
    assert not is_signed_in(client)


def test_first_sign_in_sets_up_the_code(app: Flask, client: FlaskClient, clinic_id: int) -> None:
    account = make_staff(app, clinic_id, "new.starter@alpha.example.org", totp=False)
    response = submit_password(client, account.email, account.password)
    assert response.headers["Location"] == "/clinic/totp/setup"
    page = client.get("/clinic/totp/setup").get_data(as_text=True)
    assert 'src="data:image/svg+xml;base64,' in page
    secret = user_row(app, account.email).totp_secret
    assert secret and " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)) in page
    # Reloading keeps the same secret, so a code already scanned still works.
    client.get("/clinic/totp/setup")
    assert user_row(app, account.email).totp_secret == secret

    token = csrf_token(client, "/clinic/totp/setup")
    wrong = f"{(int(pyotp.TOTP(secret).now()) + 500_000) % 1_000_000:06d}"
    response = client.post("/clinic/totp/setup", data={"csrf_token": token, "code": wrong})
    assert response.status_code == 400
    assert user_row(app, account.email).failed_logins == 1
    assert user_row(app, account.email).totp_confirmed_at is None

    token = csrf_token(client, "/clinic/totp/setup")
    code = pyotp.TOTP(secret).now()
    response = client.post("/clinic/totp/setup", data={"csrf_token": token, "code": code})
    assert response.status_code == 302
    assert response.headers["Location"] == "/clinic/"
    assert is_signed_in(client)
    assert user_row(app, account.email).totp_confirmed_at is not None
    assert audit_rows(app, "totp_confirmed")

    logout(client)
    assert submit_password(client, account.email, account.password).headers["Location"] == (
        "/clinic/login/code"
    )


# --- each code works once ----------------------------------------------------------------


def send_code(client: FlaskClient, code: str, path: str = "/clinic/login/code") -> TestResponse:
    token = csrf_token(client, path)
    return client.post(path, data={"csrf_token": token, "code": code})


def other_than(code: str) -> str:
    return f"{(int(code) + 500_000) % 1_000_000:06d}"


def code_of_step(app: Flask, email: str, step: int) -> str:
    secret = user_row(app, email).totp_secret
    assert secret is not None
    return str(pyotp.TOTP(secret).generate_otp(step))


def last_step(app: Flask, email: str) -> int:
    step = user_row(app, email).totp_last_step
    assert step is not None, f"no code of {email} has been accepted"
    return step


def test_a_code_signs_in_once_and_the_next_code_again(
    app: Flask, client: FlaskClient, nurse: Account
) -> None:
    code = current_code(app, nurse.email)
    submit_password(client, nurse.email, nurse.password)
    assert send_code(client, code).status_code == 302
    assert code_of_step(app, nurse.email, last_step(app, nurse.email)) == code
    logout(client)

    # Seen over a shoulder and typed again within its 30 seconds: refused like a wrong code.
    submit_password(client, nurse.email, nurse.password)
    replayed = send_code(client, code)
    wrong = send_code(client, other_than(code))
    assert replayed.status_code == wrong.status_code == 400
    assert NOT_RECOGNISED in replayed.get_data(as_text=True)
    assert without_tokens(replayed.get_data(as_text=True)) == without_tokens(
        wrong.get_data(as_text=True)
    )
    assert not is_signed_in(client)
    assert user_row(app, nurse.email).failed_logins == 2
    assert [r.detail for r in audit_rows(app, "login_failure")] == [
        "code already used",
        "bad code",
    ]

    wait_for_next_code()
    submit_password(client, nurse.email, nurse.password)
    assert send_code(client, code_at(app, nurse.email)).status_code == 302
    assert is_signed_in(client)
    assert user_row(app, nurse.email).failed_logins == 0


def test_a_code_older_than_the_last_one_accepted_is_refused(
    app: Flask, client: FlaskClient, nurse: Account
) -> None:
    # A phone whose clock runs ahead shows the next code; it is inside the window, so it works.
    now, ahead = code_at(app, nurse.email), code_at(app, nurse.email, 1)
    submit_password(client, nurse.email, nurse.password)
    assert send_code(client, ahead).status_code == 302
    logout(client)

    # The code of now is right and inside the window too, but older than the one accepted.
    submit_password(client, nurse.email, nurse.password)
    response = send_code(client, now)
    assert response.status_code == 400
    assert NOT_RECOGNISED in response.get_data(as_text=True)
    assert not is_signed_in(client)
    assert [r.detail for r in audit_rows(app, "login_failure")] == ["code already used"]

    # Once the clock has caught up, the code shown early is still the one used.
    used = last_step(app, nurse.email)
    wait_for_next_code()
    assert send_code(client, code_of_step(app, nurse.email, used)).status_code == 400
    assert send_code(client, code_of_step(app, nurse.email, used + 1)).status_code == 302


def test_replayed_codes_count_towards_lockout(
    app: Flask, client: FlaskClient, nurse: Account
) -> None:
    code = current_code(app, nurse.email)
    login(client, nurse.email, nurse.password)
    logout(client)
    submit_password(client, nurse.email, nurse.password)
    for attempt in range(5):
        response = send_code(client, code)
        if attempt < 4:
            assert response.status_code == 400
    assert response.headers["Location"] == "/clinic/login"
    assert user_row(app, nurse.email).locked_until is not None
    assert [r.detail for r in audit_rows(app, "login_failure")][-1] == "code already used; locked"


def test_the_code_that_confirmed_set_up_cannot_sign_in_again(
    app: Flask, client: FlaskClient, clinic_id: int
) -> None:
    account = make_staff(app, clinic_id, "new.starter@alpha.example.org", totp=False)
    submit_password(client, account.email, account.password)
    client.get("/clinic/totp/setup")  # makes the secret
    code = current_code(app, account.email)
    assert send_code(client, code, "/clinic/totp/setup").status_code == 302
    assert code_of_step(app, account.email, last_step(app, account.email)) == code
    logout(client)

    submit_password(client, account.email, account.password)
    response = send_code(client, code)
    assert response.status_code == 400
    assert NOT_RECOGNISED in response.get_data(as_text=True)
    assert not is_signed_in(client)
    assert user_row(app, account.email).failed_logins == 1

    wait_for_next_code()
    assert send_code(client, code_at(app, account.email)).status_code == 302


@pytest.fixture
def shared_app(contextless_app: Flask) -> Flask:
    return contextless_app


def test_one_code_sent_twice_at_once_signs_in_once(
    shared_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = shared_app
    nurse = make_staff(app, make_clinic(app), EMAIL)
    browsers = [app.test_client(), app.test_client()]
    tokens = []
    for browser in browsers:
        assert submit_password(browser, nurse.email, nurse.password).status_code == 302
        tokens.append(csrf_token(browser, "/clinic/login/code"))
    code = current_code(app, nurse.email)

    # Both requests have found the code right before either records it.
    both_checked = threading.Barrier(2, timeout=30)
    matched_step = auth.matched_step

    def matched_step_together(secret: str, typed: str) -> int | None:
        step = matched_step(secret, typed)
        both_checked.wait()
        return step

    monkeypatch.setattr(auth, "matched_step", matched_step_together)
    statuses: list[int] = []

    def send(browser: FlaskClient, token: str) -> None:
        response = browser.post("/clinic/login/code", data={"csrf_token": token, "code": code})
        statuses.append(response.status_code)

    threads = [
        threading.Thread(target=send, args=(browser, token))
        for browser, token in zip(browsers, tokens, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [302, 400]
    assert len(sessions_of(app, nurse.id)) == 1
    assert [r.detail for r in audit_rows(app, "login_failure")] == ["code already used"]
    assert sum(is_signed_in(browser) for browser in browsers) == 1


def test_sign_in_returns_to_the_page_asked_for_but_only_inside_the_clinic(
    client: FlaskClient, nurse: Account
) -> None:
    for target, expected in (
        ("/clinic/audit", "/clinic/audit"),
        ("https://evil.example.org/", "/clinic/"),
        ("//evil.example.org/clinic/", "/clinic/"),
    ):
        token = csrf_token(client, "/clinic/login")
        client.post(
            "/clinic/login",
            data={
                "csrf_token": token,
                "email": nurse.email,
                "password": nurse.password,
                "next": target,
            },
        )
        token = csrf_token(client, "/clinic/login/code")
        response = client.post(
            "/clinic/login/code",
            data={"csrf_token": token, "code": current_code(client.application, nurse.email)},
        )
        assert response.headers["Location"] == expected
        logout(client)


def test_an_old_hash_is_replaced_at_sign_in(
    app: Flask, client: FlaskClient, nurse: Account
) -> None:
    weaker = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    with app.app_context():
        user = db.session.get(StaffUser, nurse.id)
        user.password_hash = weaker.hash(nurse.password)
        db.session.commit()
    login(client, nurse.email, nurse.password)
    stored = user_row(app, nurse.email).password_hash
    assert stored.startswith("$argon2id$")
    assert not passwords.needs_rehash(stored)
    assert passwords.verify_password(stored, nurse.password)


def test_sign_in_attempts_are_rate_limited(tmp_path: Path, app: Flask, nurse: Account) -> None:
    limited = create_app(
        {**app.config, "RATELIMIT_ENABLED": True, "INSTANCE_PATH": str(tmp_path / "limited")}
    )
    client = limited.test_client()
    statuses = [submit_password(client, nurse.email, "wrong").status_code for _ in range(11)]
    assert statuses[:10] == [400] * 10
    assert statuses[10] == 429


def test_a_disabled_account_cannot_sign_in(app: Flask, client: FlaskClient, nurse: Account) -> None:
    with app.app_context():
        db.session.get(StaffUser, nurse.id).disabled_at = datetime.now(UTC)
        db.session.commit()
    response = submit_password(client, nurse.email, nurse.password)
    assert response.status_code == 400
    assert NOT_RECOGNISED in response.get_data(as_text=True)


# --- password policy -----------------------------------------------------------------------


def test_the_common_password_list_is_shipped() -> None:
    listed = common_passwords()
    assert len(listed) >= 10_000
    assert "password" in listed and "qwerty123456" in listed


@pytest.mark.parametrize(
    ("password", "email", "expected"),
    [
        ("short one", None, ["Password must be 12 characters or more"]),
        ("x" * 129, None, ["Password must be 128 characters or fewer"]),
        ("QWERTY123456", None, ["too common"]),
        ("garden-nurse.jones-4", EMAIL, ["must not contain the first part of the email"]),
        ("Nurse.Jones!river-lantern", EMAIL, ["must not contain the first part of the email"]),
        ("river lantern copper 41", EMAIL, []),
        ("x" * 128, None, []),
    ],
)
def test_password_policy(password: str, email: str | None, expected: list[str]) -> None:
    problems = check_password_policy(password, email=email)
    assert len(problems) == len(expected), problems
    for problem, wanted in zip(problems, expected, strict=True):
        assert wanted in problem
