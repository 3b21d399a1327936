"""Every form, fed hostile input one field at a time, with CSRF protection on as in production.

For each example: no server error, no stack trace, no markup sent back as markup, and nothing
stored unless the form was accepted (rows counted before and after; the patient's saved
answers compared when a page is refused).
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from fuzzing import FORM, MARKUP, Corruption, check_answer, corruptions, form_body, fuzz
from harness import (
    STAFF_PASSWORD,
    Clinics,
    build_app,
    pass_password_step,
    postgres_url,
    seed_clinics,
    send_to_clinic_a,
    staff_login,
)
from hypothesis import given
from hypothesis import strategies as st
from patientflow import ANSWERS, hidden_inputs, page_form, send_details, session_data
from sqlalchemy import func, select, update

from questionnaire.clinic import store
from questionnaire.clinic.models import AuditEvent, StaffUser, Submission
from questionnaire.clinic.passwords import hash_password
from questionnaire.clinic.sealing import seal
from questionnaire.extensions import db
from questionnaire.web.errors import CSRF_PAGE

pytestmark = pytest.mark.slow


@dataclass
class Site:
    app: Flask
    clinics: Clinics
    patient: FlaskClient  # finished answers, came through clinic A's link
    staff: FlaskClient  # staff of clinic A, signed in
    admin: FlaskClient  # administrator of clinic A, signed in
    submission_id: int


def make_site(tmp_path: Path, database_uri: str | None = None) -> Site:
    app = build_app(tmp_path, database_uri)  # WTF_CSRF_ENABLED is on
    clinics = seed_clinics(app)
    patient = app.test_client()
    submission_id = send_to_clinic_a(patient, clinics, "Fuzz Patient")
    staff, admin = app.test_client(), app.test_client()
    staff_login(staff, clinics.staff_a)
    staff_login(admin, clinics.admin_a)
    return Site(app, clinics, patient, staff, admin, submission_id)


@dataclass(frozen=True)
class Counts:
    submissions: int
    audit: int
    staff: int
    disabled_staff: int
    last_audit_id: int


def counts(app: Flask) -> Counts:
    def count(model: Any, *where: Any) -> int:
        return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    with app.app_context():
        return Counts(
            count(Submission),
            count(AuditEvent),
            count(StaffUser),
            count(StaffUser, StaffUser.disabled_at.is_not(None)),
            db.session.scalar(select(func.max(AuditEvent.id))) or 0,
        )


def audit_actions_since(app: Flask, last_id: int) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.id > last_id)))


def token_of(client: FlaskClient, path: str) -> str:
    return hidden_inputs(client.get(path).get_data(as_text=True))["csrf_token"]


# Every fuzzed post, by path: each test checks that its examples really ran.
POSTED: list[str] = []


def post(client: FlaskClient, path: str, valid: dict[str, Any], corruption: Corruption) -> Any:
    pairs = corruption.apply(valid)
    response = client.post(path, data=form_body(pairs), content_type=FORM)
    POSTED.append(path)
    check_answer(response, [value for _, value in pairs])
    return response


def run_examples(run: Callable[[], None], examples: int) -> None:
    """Run a hypothesis test and check that its examples really posted (not all rejected)."""
    posted = len(POSTED)
    run()
    assert len(POSTED) - posted >= 0.9 * examples, "hypothesis ran fewer examples than asked"


def fields_of(valid: dict[str, Any]) -> list[str]:
    return list(valid)


# --- the patient's pages -------------------------------------------------------------------


def test_question_pages_survive_hostile_input(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    rs = site.app.extensions["ruleset"]
    client = site.patient
    token = token_of(client, "/questions/your-pain")
    pages = [page.id for page in rs.questionnaire.pages]
    stored = counts(site.app)

    examples = 400

    @fuzz(examples)
    @given(page=st.sampled_from(pages), data=st.data())
    def run(page: str, data: st.DataObject) -> None:
        valid = {**page_form(rs, page, ANSWERS), "csrf_token": token}
        fields = [question.id for question in rs.page_by_id[page].questions] + ["csrf_token"]
        corruption = data.draw(corruptions(fields))
        before = session_data(client).get("answers")
        response = post(client, f"/questions/{page}", valid, corruption)
        assert response.status_code in (200, 302, 400), response.status_code
        if response.status_code == 302:
            # Accepted: whatever was saved is shown back escaped on the summary.
            check_answer(client.get("/check"), [corruption.value])
        else:
            assert session_data(client).get("answers") == before, "a refused page changed answers"

    run_examples(run, examples)
    assert counts(site.app) == stored, "a question page stored something in the database"


def test_send_form_survives_hostile_input(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    client = site.patient
    token = token_of(client, "/send")
    answers = session_data(client)["answers"]

    examples = 300

    @fuzz(examples)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        valid = {
            **send_details("Fuzz Patient"),
            "idempotency_key": secrets.token_urlsafe(32),
            "csrf_token": token,
        }
        corruption = data.draw(corruptions(fields_of(valid)))
        before = counts(site.app)
        response = post(client, "/send", valid, corruption)
        assert response.status_code in (200, 303, 400), response.status_code
        after = counts(site.app)
        stored = 1 if response.status_code == 303 else 0
        assert after.submissions == before.submissions + stored
        assert after.audit == before.audit + stored
        assert session_data(client)["answers"] == answers

    run_examples(run, examples)
    # What was accepted is stored as typed, and shown escaped where staff read it.
    listed = check_answer(site.staff.get("/clinic/"), list(MARKUP))
    assert "Fuzz Patient" in listed


# --- the clinic's forms --------------------------------------------------------------------


def test_sign_in_form_survives_hostile_input(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    account = site.clinics.staff_a

    examples = 50

    @fuzz(examples)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        client = site.app.test_client()
        valid = {
            "email": account.email,
            "password": account.password,
            "csrf_token": token_of(client, "/clinic/login"),
        }
        corruption = data.draw(corruptions(fields_of(valid)))
        before = counts(site.app)
        response = post(client, "/clinic/login", valid, corruption)
        assert response.status_code in (302, 400), response.status_code
        after = counts(site.app)
        assert (after.submissions, after.staff) == (before.submissions, before.staff)
        # A refused attempt is recorded, and nothing else is.
        assert set(audit_actions_since(site.app, before.last_audit_id)) <= {"login_failure"}

    run_examples(run, examples)


def test_review_form_survives_hostile_input(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    client = site.staff
    detail = f"/clinic/submissions/{site.submission_id}"
    token = token_of(client, detail)

    def review_state() -> tuple[Any, Any]:
        with site.app.app_context():
            row = db.session.get(Submission, site.submission_id)
            assert row is not None
            return row.reviewed_at, row.review_note

    examples = 200

    @fuzz(examples)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        valid = {"note": "Rang the patient back.", "csrf_token": token}
        corruption = data.draw(corruptions(fields_of(valid)))
        before, state = counts(site.app), review_state()
        response = post(client, detail + "/review", valid, corruption)
        assert response.status_code in (302, 400), response.status_code
        after = counts(site.app)
        if response.status_code == 302:
            assert audit_actions_since(site.app, before.last_audit_id) == ["review"]
            check_answer(client.get(detail), [corruption.value])
        else:
            # Nothing is written but, when the page is shown again with its answers, the
            # audit row that every showing of a submission gets.
            written = audit_actions_since(site.app, before.last_audit_id)
            assert written in ([], ["submission_view"]), written
            assert after.submissions == before.submissions
            assert review_state() == state, "a refused review changed the submission"

    run_examples(run, examples)


def test_add_staff_form_survives_hostile_input(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    client = site.admin
    token = token_of(client, "/clinic/staff/new")
    numbers = itertools.count()

    examples = 50

    @fuzz(examples)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        valid = {
            "email": f"new.person{next(numbers)}@alpha.example.org",
            "display_name": "New Person",
            "role": "staff",
            "password": "plenty long passphrase 91",
            "csrf_token": token,
        }
        corruption = data.draw(corruptions(fields_of(valid)))
        before = counts(site.app)
        response = post(client, "/clinic/staff/new", valid, corruption)
        assert response.status_code in (302, 400), response.status_code
        after = counts(site.app)
        created = 1 if response.status_code == 302 else 0
        assert after.staff == before.staff + created
        assert after.audit == before.audit + 2 * created  # account_create and staff_create

    run_examples(run, examples)


FORGED = "forged passphrase orchard 77"
NEW_PASSWORD = {"new_password": FORGED, "confirm_password": FORGED}
CHANGED_PASSWORD = {"current_password": STAFF_PASSWORD, **NEW_PASSWORD}
OWN_PASSWORD = {"sessions_password": STAFF_PASSWORD}
SPARE_EMAIL = "spare.fuzz@alpha.example.org"
NEW_PHONE_START = "/clinic/account/code"
NEW_PHONE = "/clinic/account/code/new"
TOTP_STEP_SECONDS = 30


@dataclass(frozen=True)
class StaffForm:
    """A staff form fuzzed from a valid post: who posts it, where its token is read, and
    what an accepted post answers and records (a refused one may record ``refused``)."""

    path: str  # "{spare}": the id of a spare account of clinic A
    client: Callable[[Site], FlaskClient]
    page: str  # "{spare}" as in path
    valid: dict[str, str]
    accepted: int
    recorded: list[str]
    refused: frozenset[str] = frozenset()


STAFF_FORMS = {
    "change password": StaffForm(
        "/clinic/account/password", lambda s: s.staff, "/clinic/account", CHANGED_PASSWORD,
        302, ["password_change"], frozenset({"login_failure"}),
    ),
    "end other sessions": StaffForm(
        "/clinic/account/sessions/end", lambda s: s.staff, "/clinic/account", OWN_PASSWORD,
        302, ["sessions_end"], frozenset({"login_failure"}),
    ),
    "search": StaffForm(
        "/clinic/", lambda s: s.staff, "/clinic/",
        {"q": "Fuzz", "urgent": "1", "from": "2026-01-01", "to": "2026-12-31"}, 303, [],
    ),
    "reset staff": StaffForm(
        "/clinic/staff/{spare}/reset", lambda s: s.admin, "/clinic/staff", {"password": FORGED},
        302, ["staff_reset"],
    ),
    "disable staff": StaffForm(
        "/clinic/staff/{spare}/disable", lambda s: s.admin, "/clinic/staff/{spare}/disable", {},
        302, ["staff_disable"],
    ),
    "confirm password": StaffForm(
        "/clinic/confirm", lambda s: s.admin, "/clinic/confirm",
        {"password": STAFF_PASSWORD, "next": "/clinic/staff"}, 302, ["password_confirmed"],
        frozenset({"login_failure"}),
    ),
}  # fmt: skip


@pytest.mark.parametrize("form_name", STAFF_FORMS)
def test_account_and_list_forms_survive_hostile_input(tmp_path: Path, form_name: str) -> None:
    form = STAFF_FORMS[form_name]
    site = make_site(tmp_path)
    client = form.client(site)
    email = site.clinics.staff_a.email
    original_hash = hash_password(STAFF_PASSWORD)
    with site.app.app_context():
        spare = store.create_staff_user(
            site.clinics.clinic_a_id, SPARE_EMAIL, "Spare Fuzz", "staff", original_hash
        )
        spare_id = spare.id
    path = form.path.format(spare=spare_id)
    token = token_of(client, form.page.format(spare=spare_id))

    def restore_accounts() -> None:
        # Each example starts from the seeded password and no failures, so a wrong current
        # password never adds up to a lockout that would end this client's session; and
        # from a spare account that is turned on, so it can be turned off again.
        with site.app.app_context():
            db.session.execute(update(StaffUser).values(failed_logins=0, locked_until=None))
            user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
            assert user is not None
            user.password_hash = original_hash
            spare_user = db.session.get(StaffUser, spare_id)
            assert spare_user is not None
            spare_user.disabled_at = None
            db.session.commit()

    examples = 40

    @fuzz(examples)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        valid = {**form.valid, "csrf_token": token}
        corruption = data.draw(corruptions(fields_of(valid)))
        before = counts(site.app)
        response = post(client, path, valid, corruption)
        assert response.status_code in (form.accepted, 400), response.status_code
        after = counts(site.app)
        assert (after.submissions, after.staff) == (before.submissions, before.staff)
        recorded = audit_actions_since(site.app, before.last_audit_id)
        if response.status_code == form.accepted:
            assert recorded == form.recorded
        else:
            assert set(recorded) <= form.refused
        restore_accounts()

    run_examples(run, examples)


def test_the_turn_off_page_shown_with_its_form_in_it_turns_nothing_off(tmp_path: Path) -> None:
    """A GET or HEAD carrying the turn-off form, with a good token as production checks it,
    is answered like a GET of the page: nothing is turned off, only the showing is audited."""
    site = make_site(tmp_path)
    with site.app.app_context():
        spare_id = store.create_staff_user(
            site.clinics.clinic_a_id, SPARE_EMAIL, "Spare Fuzz", "staff", hash_password(FORGED)
        ).id
    page = f"/clinic/staff/{spare_id}/disable"
    form = {"csrf_token": token_of(site.admin, page)}
    for method in ("GET", "HEAD"):
        before = counts(site.app)
        response = site.admin.open(page, method=method, data=form, content_type=FORM)
        assert response.status_code == 200, method
        assert counts(site.app).disabled_staff == before.disabled_staff == 0, method
        assert audit_actions_since(site.app, before.last_audit_id) == ["staff_disable_view"]
    posted = site.admin.post(page, data=form)
    assert posted.status_code == 302
    assert counts(site.app).disabled_staff == 1


# --- the steps of signing in and out, and clearing answers: a new browser each example ------


def signed_in(client: FlaskClient) -> bool:
    return bool(client.get("/clinic/").status_code == 200)


def current_code(site: Site) -> str:
    """The code clinic A's staff member's app shows now, for the secret stored now."""
    with site.app.app_context():
        secret = db.session.scalar(
            select(StaffUser.totp_secret).where(StaffUser.email == site.clinics.staff_a.email)
        )
    assert secret, "no sign-in code set up"
    return pyotp.TOTP(secret).now()


def reach_code_step(site: Site, client: FlaskClient) -> dict[str, str]:
    pass_password_step(client, site.clinics.staff_a)
    return {"code": current_code(site)}


def reach_code_setup(site: Site, client: FlaskClient) -> dict[str, str]:
    step = pass_password_step(client, site.clinics.staff_a)
    assert step.endswith("/clinic/totp/setup"), step
    client.get("/clinic/totp/setup")  # makes the secret the QR code shows
    return {"code": current_code(site)}


def reach_password_choice(site: Site, client: FlaskClient) -> dict[str, str]:
    pass_password_step(client, site.clinics.staff_a)
    token = token_of(client, "/clinic/login/code")
    code = current_code(site)
    answer = client.post("/clinic/login/code", data={"code": code, "csrf_token": token})
    assert answer.headers["Location"].endswith("/clinic/login/new-password")
    return dict(NEW_PASSWORD)


def reach_signed_in(site: Site, client: FlaskClient) -> dict[str, str]:
    staff_login(client, site.clinics.staff_a)
    return {}


def next_code(site: Site) -> str:
    """The code the phone shows in 30 seconds: accepted now (a step either side is), and
    later than the step signing in just used."""
    secret = site.clinics.staff_a.totp_secret
    return pyotp.TOTP(secret).at(time.time() + TOTP_STEP_SECONDS)


def reach_new_phone_start(site: Site, client: FlaskClient) -> dict[str, str]:
    staff_login(client, site.clinics.staff_a)
    return {"code_password": STAFF_PASSWORD, "code": next_code(site)}


def reach_new_phone(site: Site, client: FlaskClient) -> dict[str, str]:
    staff_login(client, site.clinics.staff_a)
    fields = {"code_password": STAFF_PASSWORD, "code": next_code(site)}
    token = token_of(client, "/clinic/account")
    started = client.post(NEW_PHONE_START, data={**fields, "csrf_token": token})
    assert started.headers["Location"] == NEW_PHONE, "the new phone was not started"
    with site.app.app_context():
        secret = db.session.scalar(
            select(StaffUser.totp_new_secret).where(StaffUser.email == site.clinics.staff_a.email)
        )
    assert secret
    return {"code": pyotp.TOTP(secret).now()}


def new_phone_page_shows(client: FlaskClient) -> bool:
    return bool(client.get(NEW_PHONE).status_code == 200)


def reach_answered_page(site: Site, client: FlaskClient) -> dict[str, str]:
    rs = site.app.extensions["ruleset"]
    first = rs.questionnaire.pages[0].id
    client.get(f"/c/{Clinics.slug_a}/")
    token = token_of(client, f"/questions/{first}")
    client.post(f"/questions/{first}", data={**page_form(rs, first, ANSWERS), "csrf_token": token})
    assert session_data(client).get("answers"), "the first page was not saved"
    return {}


@dataclass(frozen=True)
class FreshForm:
    """A form that each example reaches from a new browser, through the steps before it.

    ``account`` is clinic A's staff member as each example finds it: besides the seeded
    password, no failures and no code used yet, so a refused example never adds up to a
    lockout and the same code can pass again. ``took_effect`` tells from the browser alone
    whether the post did what it is for: it must say yes exactly when the post was accepted.
    """

    path: str
    page: str  # where the form's token is read
    reach: Callable[[Site, FlaskClient], dict[str, str]]  # gives the valid fields
    recorded: list[str]  # the audit rows of an accepted post
    took_effect: Callable[[FlaskClient], bool]
    account: dict[str, Any] = field(default_factory=dict)
    refused: frozenset[str] = frozenset()


FRESH_FORMS = {
    "sign-in code": FreshForm(
        "/clinic/login/code", "/clinic/login/code", reach_code_step, ["login_success"],
        signed_in, refused=frozenset({"login_failure"}),
    ),
    "code set-up": FreshForm(
        "/clinic/totp/setup", "/clinic/totp/setup", reach_code_setup,
        ["totp_confirmed", "login_success"], signed_in,
        {"totp_secret": None, "totp_confirmed_at": None}, frozenset({"login_failure"}),
    ),
    "choose password": FreshForm(
        "/clinic/login/new-password", "/clinic/login/new-password", reach_password_choice,
        ["password_change", "login_success"], signed_in, {"password_must_change": True},
    ),
    "sign out": FreshForm(
        "/clinic/logout", "/clinic/", reach_signed_in, ["logout"],
        lambda client: not signed_in(client),
    ),
    "clear answers": FreshForm(
        "/clear", "/clear", reach_answered_page, [],
        lambda client: not session_data(client).get("answers"),
    ),
    "new phone, both factors": FreshForm(
        NEW_PHONE_START, "/clinic/account", reach_new_phone_start, [], new_phone_page_shows,
        refused=frozenset({"login_failure"}),
    ),
    "new phone, its code": FreshForm(
        NEW_PHONE, NEW_PHONE, reach_new_phone, ["totp_changed"],
        lambda client: not new_phone_page_shows(client),
    ),
}  # fmt: skip


@pytest.mark.parametrize("form_name", FRESH_FORMS)
def test_sign_in_steps_and_clearing_survive_hostile_input(tmp_path: Path, form_name: str) -> None:
    form = FRESH_FORMS[form_name]
    site = make_site(tmp_path)
    account = {
        "password_hash": hash_password(STAFF_PASSWORD),
        "failed_logins": 0,
        "locked_until": None,
        "totp_secret": site.clinics.staff_a.totp_secret,
        "totp_new_secret": None,
        "totp_last_step": None,
        **form.account,
    }

    def set_account() -> None:
        with site.app.app_context():
            db.session.execute(
                update(StaffUser)
                .where(StaffUser.email == site.clinics.staff_a.email)
                .values(**account)
            )
            db.session.commit()

    examples = 40

    @fuzz(examples)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        set_account()
        client = site.app.test_client()
        valid = {**form.reach(site, client), "csrf_token": token_of(client, form.page)}
        corruption = data.draw(corruptions(fields_of(valid)))
        before = counts(site.app)
        response = post(client, form.path, valid, corruption)
        assert response.status_code in (302, 400), response.status_code
        accepted = response.status_code == 302
        after = counts(site.app)
        assert (after.submissions, after.staff) == (before.submissions, before.staff)
        recorded = audit_actions_since(site.app, before.last_audit_id)
        if accepted:
            assert recorded == form.recorded
        else:
            assert set(recorded) <= form.refused
        assert form.took_effect(client) == accepted
        outcomes.append(accepted)

    outcomes: list[bool] = []
    run_examples(run, examples)
    assert any(outcomes), "no example was accepted: the valid post itself is refused"


# --- CSRF ----------------------------------------------------------------------------------


Form = tuple[str, Callable[[Site], FlaskClient], dict[str, str]]
FORMS: dict[str, Form] = {
    "question page": ("/questions/your-pain", lambda s: s.patient, {"pain_duration": "no"}),
    "clear answers": ("/clear", lambda s: s.patient, {}),
    "send": ("/send", lambda s: s.patient, {**send_details("Forged"), "idempotency_key": "k" * 43}),
    "sign in": ("/clinic/login", lambda s: s.patient, {"email": "x@example.org", "password": "p"}),
    "sign-in code": ("/clinic/login/code", lambda s: s.patient, {"code": "123456"}),
    "code set-up": ("/clinic/totp/setup", lambda s: s.patient, {"code": "123456"}),
    "search": ("/clinic/", lambda s: s.staff, {"q": "forged"}),
    "review": ("/clinic/submissions/{id}/review", lambda s: s.staff, {"note": "forged"}),
    "add staff": ("/clinic/staff/new", lambda s: s.admin, {"email": "f@alpha.example.org"}),
    "disable staff": ("/clinic/staff/1/disable", lambda s: s.admin, {}),
    "reset staff": ("/clinic/staff/1/reset", lambda s: s.admin, {"password": FORGED}),
    "choose password": ("/clinic/login/new-password", lambda s: s.patient, NEW_PASSWORD),
    "change password": ("/clinic/account/password", lambda s: s.staff, CHANGED_PASSWORD),
    "end other sessions": ("/clinic/account/sessions/end", lambda s: s.staff, OWN_PASSWORD),
    "new phone, both factors": (
        NEW_PHONE_START, lambda s: s.staff, {"code_password": STAFF_PASSWORD, "code": "123456"},
    ),
    "new phone, its code": (NEW_PHONE, lambda s: s.staff, {"code": "123456"}),
    "confirm password": ("/clinic/confirm", lambda s: s.admin, {"password": STAFF_PASSWORD}),
    "sign out": ("/clinic/logout", lambda s: s.staff, {}),
}  # fmt: skip


def other_sessions_token(site: Site) -> str:
    return token_of(site.app.test_client(), "/clinic/login")


TOKENS: dict[str, Callable[[Site], str | None]] = {
    "missing": lambda site: None,
    "empty": lambda site: "",
    "garbage": lambda site: "not-a-token",
    "from another session": other_sessions_token,
    "tampered": lambda site: other_sessions_token(site)[:-2] + "AA",
}


@pytest.fixture(scope="module")
def csrf_site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    # Shared: every request below is refused, so none changes what the next one sees.
    return make_site(tmp_path_factory.mktemp("csrf"))


@pytest.mark.parametrize("form_name", FORMS)
def test_every_form_refuses_a_missing_or_wrong_csrf_token(csrf_site: Site, form_name: str) -> None:
    site = csrf_site
    path, client_of, fields = FORMS[form_name]
    client = client_of(site)
    path = path.format(id=site.submission_id)
    for token_name, make_token in TOKENS.items():
        token = make_token(site)
        data = dict(fields) if token is None else {**fields, "csrf_token": token}
        before, answers = counts(site.app), session_data(client).get("answers")
        response = client.post(path, data=data)
        body = check_answer(response, [])
        assert response.status_code == 400, f"{form_name}, token {token_name}"
        assert CSRF_PAGE.title in body, f"{form_name}, token {token_name}"
        assert counts(site.app) == before, f"{form_name}, token {token_name}: stored"
        assert session_data(client).get("answers") == answers
    # The same client, with its real token, is still signed in and can post.
    assert client.get("/clinic/" if client is not site.patient else "/check").status_code == 200


def test_the_csrf_table_holds_every_form(csrf_site: Site) -> None:
    """A new form (any route taking POST outside the JSON API) fails here until it is added."""
    app = csrf_site.app
    posted = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "POST" in (rule.methods or ()) and not rule.endpoint.startswith("api.")
    }
    adapter = app.url_map.bind("localhost")
    tested = {
        adapter.match(path.format(id=csrf_site.submission_id), method="POST")[0]
        for path, _, _ in FORMS.values()
    }
    assert posted - tested == set(), "forms without a CSRF test"


# --- PostgreSQL refuses text that SQLite takes -----------------------------------------------

NUL = "a\x00b"


def nul_requests(site: Site) -> list[tuple[str, FlaskClient, str, str, dict[str, str] | None]]:
    """Every text input that reaches a query, with a NUL character in it."""
    detail = f"/clinic/submissions/{site.submission_id}"
    staff_form = {
        "email": "nul.person@alpha.example.org",
        "display_name": "Nul Person",
        "role": "staff",
        "password": "plenty long passphrase 91",
    }
    with site.app.test_request_context():
        staff_a = store.find_staff_user_by_email(site.clinics.staff_a.email)
        assert staff_a is not None
        sealed_nul = seal(NUL, staff_a.id)  # as the list's links carry a search, for them
    cases: list[tuple[str, FlaskClient, str, str, dict[str, str] | None]] = [
        ("clinic link", site.app.test_client(), "GET", "/c/al%00pha/", None),
        ("sign-in email", site.app.test_client(), "POST", "/clinic/login",
         {"email": f"staff{NUL}@alpha.example.org", "password": "x"}),
        ("sign-in password", site.app.test_client(), "POST", "/clinic/login",
         {"email": site.clinics.staff_a.email, "password": NUL}),
        ("review note", site.staff, "POST", detail + "/review", {"note": NUL}),
        ("search", site.staff, "POST", "/clinic/", {"q": NUL}),
        ("sealed search", site.staff, "GET", f"/clinic/?q={sealed_nul}", None),
        ("CSV export search", site.staff, "GET", f"/clinic/export.csv?q={sealed_nul}", None),
        ("JSON export search", site.staff, "GET", f"/clinic/export.json?q={sealed_nul}", None),
        ("send name", site.patient, "POST", "/send",
         {**send_details(NUL), "idempotency_key": secrets.token_urlsafe(32)}),
    ]  # fmt: skip
    with_nul = {
        "email": f"nul{NUL}@alpha.example.org",
        "display_name": f"Nul {NUL} Person",
        "password": f"plenty long {NUL} passphrase",
    }
    for name, value in with_nul.items():
        data = {**staff_form, name: value}
        cases.append((f"new staff {name}", site.admin, "POST", "/clinic/staff/new", data))
    rs = site.app.extensions["ruleset"]
    for question in rs.question_by_id.values():
        page = rs.page_of_question[question.id]
        cases.append(
            (f"answer {question.id}", site.patient, "POST", f"/questions/{page}",
             {**page_form(rs, page, ANSWERS), question.id: NUL})
        )  # fmt: skip
    return cases


@pytest.mark.postgres
def test_nul_characters_get_a_clear_answer_on_postgresql(tmp_path: Path, pg_database: str) -> None:
    """PostgreSQL cannot store or compare text holding NUL, so such input must be refused
    (or dropped) before it reaches a query, never end in a server error."""
    site = make_site(tmp_path, postgres_url(pg_database))
    site.app.config["WTF_CSRF_ENABLED"] = False  # every form here is about the text
    site.app.config["PROPAGATE_EXCEPTIONS"] = False  # a failure is answered as a visitor sees it
    failures = []
    try:
        for name, client, method, path, data in nul_requests(site):
            response = client.open(path, method=method, data=data)
            if response.status_code >= 500:
                failures.append(f"{name}: {method} {path} answered {response.status_code}")
            else:
                check_answer(response, [])
    finally:
        with site.app.app_context():
            db.engine.dispose()
    assert not failures, "\n".join(failures)
