"""The clinic's pages in a real browser: sending a sheet, and staff signing in and reviewing.

Each page is checked with axe (WCAG 2.2 A/AA) at phone and desktop width and saved as a
screenshot, in its normal and its error state.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pyotp
import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import update

from questionnaire.clinic import auth
from questionnaire.clinic.confirm import CONFIRM_WINDOW
from questionnaire.clinic.models import StaffSession
from questionnaire.engine import RuleSet
from questionnaire.extensions import db

from .conftest import (
    TYPICAL_PATIENT,
    VIEWPORT_HEIGHT,
    LiveServer,
    Session,
    assert_error_summary_links_to_fields,
    audit_page,
    complete_questionnaire,
    wait_for_path,
)

pytestmark = pytest.mark.browser

CLINIC_SLUG = "north"
CLINIC_NAME = "North Spine Clinic"


def _load_clinic_helpers() -> ModuleType:
    # tests/clinic is not a package; its helpers are loaded from their file, under their own name.
    path = Path(__file__).resolve().parents[1] / "clinic" / "helpers.py"
    spec = importlib.util.spec_from_file_location("clinic_test_helpers", path)
    assert spec is not None and spec.loader is not None, f"cannot load {path}"
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


helpers = _load_clinic_helpers()


@dataclass(frozen=True)
class ClinicData:
    admin_email: str
    newcomer_email: str
    newcomer_id: int
    password: str
    submission_id: int


@pytest.fixture(scope="module")
def clinic(live_server: LiveServer) -> ClinicData:
    app = live_server.app
    clinic_id = helpers.make_clinic(app, CLINIC_SLUG, CLINIC_NAME)
    admin = helpers.make_staff(app, clinic_id, "lead.nurse@north.example", role="admin")
    # No sign-in code yet, and a password the administrator chose: signing in leads to the
    # code set-up page, then to choosing a password.
    newcomer = helpers.make_staff(
        app, clinic_id, "new.starter@north.example", totp=False, must_change_password=True
    )
    submission_id = helpers.make_submission(
        app,
        clinic_id,
        {"red_flags": ["fever_or_chills"], "blood_thinners": "yes", "diabetes": "not_sure"},
        name="Grace Example",
    )
    return ClinicData(admin.email, newcomer.email, newcomer.id, admin.password, submission_id)


def press(page: Page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).click()


def test_patient_sends_the_sheet_to_the_clinic(
    new_session: Callable[..., Session], ruleset: RuleSet, clinic: ClinicData
) -> None:
    page = new_session().page
    page.goto(f"/c/{CLINIC_SLUG}/")
    wait_for_path(page, "/")
    complete_questionnaire(page, ruleset, TYPICAL_PATIENT)
    page.get_by_role("button", name="Build my sheet").click()
    wait_for_path(page, "/sheet")
    audit_page(page, "sheet-with-clinic")

    page.get_by_role("button", name=f"Send my answers to {CLINIC_NAME}").click()
    wait_for_path(page, "/send")
    audit_page(page, "send")

    press(page, "Send my answers")
    audit_page(page, "send-errors")
    assert_error_summary_links_to_fields(page)
    summary_links = page.locator(".error-summary a")
    expect(summary_links).to_have_count(4)

    appointment = datetime.now(UTC).date() + timedelta(days=14)
    page.locator("#patient_name").fill("Ada Example")
    born = {"day": "27", "month": "3", "year": "1960"}
    coming = {"day": appointment.day, "month": appointment.month, "year": appointment.year}
    for part in ("day", "month", "year"):
        page.locator(f"#dob-{part}").fill(born[part])
        page.locator(f"#appointment-{part}").fill(str(coming[part]))
    page.locator("#consent").check()
    press(page, "Send my answers")
    wait_for_path(page, "/send/done")
    expect(page.locator("h1")).to_contain_text("Your answers have been sent")
    audit_page(page, "send-done")
    main = page.locator("main")
    # The form asks for no phone number, so the page promises no call; and it is no way to
    # get medical help.
    expect(main).not_to_contain_text("call you")
    expect(main).to_contain_text("Sending your answers is not a way to get medical help.")
    # The reference code stays on one line, to be read out, even on the narrowest screen.
    page.set_viewport_size({"width": 320, "height": VIEWPORT_HEIGHT})
    code = page.locator(".reference-code")
    lines = code.evaluate(
        "(e) => { const r = document.createRange(); r.selectNodeContents(e);"
        " return r.getClientRects().length; }"
    )
    assert lines == 1, f"the reference code {code.inner_text()} takes {lines} lines at 320px"
    assert page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    # On paper, no link to follow.
    page.emulate_media(media="print")
    expect(
        page.get_by_role("link", name="Go back to your sheet to print or save it")
    ).to_be_hidden()


def sign_in_with_password(
    page: Page, email: str, password: str, next_step: str = "/clinic/login/code"
) -> None:
    """The password step of signing in, ending on ``next_step``."""
    page.goto("/clinic/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    press(page, "Continue")
    wait_for_path(page, next_step)


def sign_in(page: Page, app: Flask, email: str, password: str) -> None:
    """Both steps of signing in, password then the code the authenticator app shows, ending
    on the list of submissions."""
    sign_in_with_password(page, email, password)
    page.locator("#code").fill(helpers.current_code(app, email))
    press(page, "Sign in")
    wait_for_path(page, "/clinic/")


def test_staff_sign_in_dashboard_and_submission(
    new_session: Callable[..., Session], live_server: LiveServer, clinic: ClinicData
) -> None:
    page = new_session().page
    page.goto("/clinic/")
    wait_for_path(page, "/clinic/login")
    audit_page(page, "clinic-login")

    press(page, "Continue")
    audit_page(page, "clinic-login-errors")
    assert_error_summary_links_to_fields(page)

    sign_in_with_password(page, clinic.admin_email, clinic.password)
    audit_page(page, "clinic-login-code")

    page.locator("#code").fill("12 34")
    press(page, "Sign in")
    audit_page(page, "clinic-login-code-errors")
    assert_error_summary_links_to_fields(page)

    page.locator("#code").fill(helpers.current_code(live_server.app, clinic.admin_email))
    press(page, "Sign in")
    wait_for_path(page, "/clinic/")
    expect(page.locator("main")).to_contain_text("Grace Example")
    audit_page(page, "clinic-dashboard")

    page.locator(f"a[href='/clinic/submissions/{clinic.submission_id}']").click()
    wait_for_path(page, f"/clinic/submissions/{clinic.submission_id}")
    expect(page.locator("main")).to_contain_text("Grace Example")
    audit_page(page, "clinic-submission")

    for path, name in (
        ("/clinic/staff", "clinic-staff"),
        ("/clinic/staff/new", "clinic-staff-new"),
        (f"/clinic/staff/{clinic.newcomer_id}/reset", "clinic-staff-reset"),
        (f"/clinic/staff/{clinic.newcomer_id}/disable", "clinic-staff-disable"),
        ("/clinic/audit", "clinic-audit"),
    ):
        response = page.goto(path)
        assert response is not None and response.status == 200, f"{path}: {response}"
        audit_page(page, name)

    page.get_by_role("link", name="Your account").click()
    wait_for_path(page, "/clinic/account")
    expect(page.locator("main")).to_contain_text("This session")
    audit_page(page, "clinic-account")
    press(page, "Change your password")
    wait_for_path(page, "/clinic/account/password")
    audit_page(page, "clinic-account-errors")
    assert_error_summary_links_to_fields(page)

    response = page.goto("/clinic/submissions/999999")
    assert response is not None and response.status == 404
    audit_page(page, "clinic-not-found")


def test_first_sign_in_sets_up_the_code_then_chooses_a_password(
    new_session: Callable[..., Session], live_server: LiveServer, clinic: ClinicData
) -> None:
    page = new_session().page
    sign_in_with_password(page, clinic.newcomer_email, clinic.password, "/clinic/totp/setup")
    expect(page.locator("img")).to_have_count(1)
    audit_page(page, "clinic-totp-setup")

    page.locator("#code").fill(helpers.current_code(live_server.app, clinic.newcomer_email))
    press(page, "Confirm and sign in")
    wait_for_path(page, "/clinic/login/new-password")
    audit_page(page, "clinic-choose-password")
    press(page, "Save the password and sign in")
    audit_page(page, "clinic-choose-password-errors")
    assert_error_summary_links_to_fields(page)

    page.locator("#new_password").fill("quiet meadow copper 5821")
    page.locator("#confirm_password").fill("quiet meadow copper 5821")
    press(page, "Save the password and sign in")
    wait_for_path(page, "/clinic/")
    expect(page.locator(".clinic-nav")).to_contain_text("Signed in as New.Starter")


def test_a_password_can_be_shown_while_typed_and_is_sent_hidden(
    new_session: Callable[..., Session], clinic: ClinicData
) -> None:
    page = new_session().page
    page.goto("/clinic/login")
    box = page.locator("#password")
    box.fill("typed secret words")
    expect(box).to_have_attribute("type", "password")
    page.get_by_role("button", name="Show password").click()
    expect(box).to_have_attribute("type", "text")
    expect(page.locator("[data-module='password-input'] [aria-live]")).to_have_text(
        "Your password is visible"
    )
    page.get_by_role("button", name="Hide password").click()
    expect(box).to_have_attribute("type", "password")

    # Shown when the form is sent, it is a password box again by the time the browser sends
    # it (a listener added after the page's own sees the box as it goes, and stops the send).
    page.get_by_role("button", name="Show password").click()
    page.evaluate(
        """() => document.querySelector("form[action='/clinic/login']").addEventListener(
            "submit", (event) => {
                window.typeWhenSent = document.getElementById("password").type;
                event.preventDefault();
            })"""
    )
    press(page, "Continue")
    assert page.evaluate("window.typeWhenSent") == "password"
    expect(page.get_by_role("button", name="Show password")).to_be_visible()


def test_without_javascript_a_password_box_has_no_show_button(
    new_session: Callable[..., Session], clinic: ClinicData
) -> None:
    page = new_session(javascript=False).page
    page.goto("/clinic/login")
    expect(page.locator("#password")).to_have_attribute("type", "password")
    expect(page.get_by_role("button", name="Show password")).to_have_count(0)
    sign_in_with_password(page, clinic.admin_email, clinic.password)


def test_an_administrators_task_asks_for_the_password_after_a_while(
    new_session: Callable[..., Session], live_server: LiveServer, clinic: ClinicData
) -> None:
    page = new_session().page
    sign_in(page, live_server.app, clinic.admin_email, clinic.password)
    admin = helpers.user_row(live_server.app, clinic.admin_email)
    with live_server.app.app_context():
        # As if the password was last given before the confirmation window.
        db.session.execute(
            update(StaffSession)
            .where(StaffSession.user_id == admin.id)
            .values(confirmed_at=datetime.now(UTC) - CONFIRM_WINDOW - timedelta(minutes=1))
        )
        db.session.commit()

    page.goto("/clinic/staff/new")
    wait_for_path(page, "/clinic/confirm")
    audit_page(page, "clinic-confirm")
    press(page, "Confirm and go on")
    audit_page(page, "clinic-confirm-errors")
    assert_error_summary_links_to_fields(page)

    page.locator("#password").fill(clinic.password)
    press(page, "Confirm and go on")
    wait_for_path(page, "/clinic/staff/new")
    expect(page.locator("h1")).to_contain_text("Add")


def test_the_sign_in_code_moves_to_a_new_phone(
    new_session: Callable[..., Session], live_server: LiveServer, clinic: ClinicData
) -> None:
    app = live_server.app
    page = new_session().page
    sign_in(page, app, clinic.admin_email, clinic.password)

    page.goto("/clinic/account")
    page.locator("#code_password").fill(clinic.password)
    page.locator("#code").fill(helpers.current_code(app, clinic.admin_email))
    press(page, "Set up a new phone")
    wait_for_path(page, "/clinic/account/code/new")
    expect(page.locator("img")).to_have_count(1)
    audit_page(page, "clinic-new-phone")
    press(page, "Use the new phone from now on")
    audit_page(page, "clinic-new-phone-errors")
    assert_error_summary_links_to_fields(page)

    new_secret = helpers.user_row(app, clinic.admin_email).totp_new_secret
    step = int(auth.totp_time()) // helpers.TOTP_STEP_SECONDS
    page.locator("#code").fill(pyotp.TOTP(new_secret).generate_otp(step))
    press(page, "Use the new phone from now on")
    wait_for_path(page, "/clinic/account")
    expect(page.get_by_role("status")).to_contain_text("Your sign-in code is now on your new phone")
    assert helpers.user_row(app, clinic.admin_email).totp_secret == new_secret
