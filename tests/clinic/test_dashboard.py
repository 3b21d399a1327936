"""The clinic list, one submission, review, and the audit page."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from html import unescape
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from helpers import (
    Account,
    csrf_token,
    login,
    make_staff,
    make_submission,
    search_address,
    submission_row,
)
from sqlalchemy import event
from werkzeug.datastructures import MultiDict

from questionnaire.clinic import dashboard, store
from questionnaire.clinic.dashboard import DATE_LABELS, PAGE_SIZE, decode_cursor, encode_cursor
from questionnaire.clinic.models import AuditEvent, Submission
from questionnaire.extensions import db

BASE_TIME = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def references(html: str) -> list[str]:
    return re.findall(r'class="reference">([0-9A-Z-]{11})<', html)


def reference_of(app: Flask, submission_id: int) -> str:
    return submission_row(app, submission_id).reference


def audit_actions(app: Flask) -> list[tuple[str, str | None]]:
    with app.app_context():
        rows = db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id))
        return [(row.action, row.record_id) for row in rows]


# --- the list ------------------------------------------------------------------------------


def test_the_list_shows_newest_first_with_flags_as_words(
    app: Flask, signed_in: FlaskClient, clinic_id: int
) -> None:
    calm = make_submission(app, clinic_id, name="Cal Calm", created_at=BASE_TIME)
    flagged = make_submission(
        app,
        clinic_id,
        {"red_flags": ["saddle_numbness"], "blood_thinners": "not_sure", "allergies": ["latex"]},
        name="Fay Flagged",
        created_at=BASE_TIME + timedelta(hours=1),
    )
    html = signed_in.get("/clinic/").get_data(as_text=True)
    assert references(html) == [reference_of(app, flagged), reference_of(app, calm)]
    flagged_row = html[html.index("Fay Flagged") : html.index("Cal Calm")]
    for word in ("Urgent", "Blood thinners", "Allergies"):
        assert f">{word}</li>" in flagged_row
    assert ">Diabetes</li>" not in flagged_row
    assert "3 Dec 2026" in flagged_row  # the appointment date
    assert "2 Nov 2026, 10:00 UTC" in flagged_row  # when it was sent
    assert "Not reviewed" in flagged_row
    assert "2 submissions match" in html


def test_the_count_says_more_than_its_limit_past_it(
    app: Flask, signed_in: FlaskClient, clinic_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    for number in range(3):
        make_submission(app, clinic_id, name=f"Patient {number}")
    monkeypatch.setattr(dashboard, "COUNT_LIMIT", 2)
    html = signed_in.get("/clinic/").get_data(as_text=True)
    assert "More than 2 submissions match." in html
    assert len(references(html)) == 3  # the page itself is whole
    assert "Download these:" in html
    monkeypatch.setattr(dashboard, "COUNT_LIMIT", 3)
    html = signed_in.get("/clinic/").get_data(as_text=True)
    assert "3 submissions match." in html
    assert "More than" not in html


def test_the_count_has_thousands_separated(
    app: Flask, signed_in: FlaskClient, clinic_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dashboard, "COUNT_LIMIT", 9_999)
    make_submission(app, clinic_id, name="Only One")
    monkeypatch.setattr(store, "count_submissions", lambda *args, **kwargs: 1234)
    html = signed_in.get("/clinic/").get_data(as_text=True)
    assert "1,234 submissions match." in html
    monkeypatch.setattr(store, "count_submissions", lambda *args, **kwargs: 10_000)
    assert "More than 9,999 submissions match." in signed_in.get("/clinic/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("urgent=1", ["urgent"]),
        ("blood_thinners=1", ["thinners"]),
        ("diabetes=1", ["diabetes"]),
        ("infection=1", ["infection"]),
        ("allergies=1", ["allergies"]),
        ("urgent=1&blood_thinners=1", []),
        ("unreviewed=1", ["allergies", "infection", "diabetes", "thinners", "urgent"]),
        ("from=2026-11-04&to=2026-11-05", ["diabetes", "thinners"]),
        ("q=flo", ["thinners"]),
        ("q=FLO", ["thinners"]),
    ],
)
def test_filters(
    app: Flask, signed_in: FlaskClient, clinic_id: int, query: str, expected: list[str]
) -> None:
    cases = {
        "urgent": ({"red_flags": ["fever_or_chills"]}, "Una Urgent"),
        "thinners": ({"blood_thinners": "yes"}, "Flo Thinners"),
        "diabetes": ({"diabetes": "not_sure"}, "Di Sugar"),
        "infection": ({"infection": "yes"}, "Ian Fection"),
        "allergies": ({"allergies": ["contrast_dye"]}, "Al Lergy"),
        "reviewed": ({}, "Rev Iewed"),
    }
    ids = {}
    for day, (key, (answers, name)) in enumerate(cases.items(), start=1):
        ids[key] = make_submission(
            app, clinic_id, answers, name=name, created_at=BASE_TIME + timedelta(days=day)
        )
    with app.app_context():
        db.session.get(Submission, ids["reviewed"]).reviewed_at = BASE_TIME
        db.session.commit()
    # Through the filter form, as staff use it.
    response = signed_in.get(search_address(signed_in, **dict(parse_qsl(query))))
    assert response.status_code == 200
    expected_refs = [reference_of(app, ids[key]) for key in expected]
    assert references(response.get_data(as_text=True)) == expected_refs


def test_search_by_reference_in_any_case(
    app: Flask, signed_in: FlaskClient, clinic_id: int
) -> None:
    wanted = make_submission(app, clinic_id, name="Wanda Wanted")
    make_submission(app, clinic_id, name="Other Person")
    reference = reference_of(app, wanted)
    typed = reference.replace("-", " ").lower()
    html = signed_in.get(search_address(signed_in, q=typed)).get_data(as_text=True)
    assert references(html) == [reference]


FROM_DATE = "Enter &#39;Sent on or after&#39; (from) as a date written YYYY-MM-DD"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("urgent=maybe", "&#39;urgent&#39; can only be 1"),
        ("from=24/11/2026", FROM_DATE),
        ("to=2026-02-30", "Enter &#39;Sent on or before&#39; (to) as a date written YYYY-MM-DD"),
        ("from=2026-W48-1", FROM_DATE),
        ("from=%D9%A2%D9%A0%D9%A2%D9%A6-11-24", FROM_DATE),
        (
            "from=2026-11-05&to=2026-11-01",
            "&#39;Sent on or before&#39; must be the same date as &#39;Sent on or after&#39; "
            "or later",
        ),
        ("colour=red", "&#39;colour&#39; is not a filter. Filters are: urgent,"),
    ],
)
def test_bad_filters_are_explained(signed_in: FlaskClient, query: str, message: str) -> None:
    response = signed_in.get(f"/clinic/?{query}")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "<title>Error: " in html and "There is a problem" in html
    assert message in html


def test_the_date_messages_name_the_labels_the_form_shows(signed_in: FlaskClient) -> None:
    html = signed_in.get("/clinic/").get_data(as_text=True)
    for name, label in DATE_LABELS.items():
        assert f'<label class="label" for="{name}">{label}</label>' in html


def test_a_search_is_posted_and_no_address_holds_what_was_typed(
    app: Flask, signed_in: FlaskClient, clinic_id: int
) -> None:
    for number in range(PAGE_SIZE + 1):
        make_submission(app, clinic_id, name=f"Florence Nightingale {number}")
    make_submission(app, clinic_id, name="Other Person")
    address = search_address(signed_in, q="Florence", urgent="")
    assert "florence" not in address.lower()
    page = signed_in.get(address)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f"{PAGE_SIZE + 1} submissions match" in html
    assert 'value="Florence"' in html  # the search box shows what was typed
    # Paging and export links carry the search sealed too.
    links = re.findall(r'href="(/clinic/[^"]*\?[^"]*)"', html)
    assert {urlsplit(link).path for link in links} >= {
        "/clinic/",
        "/clinic/export.csv",
        "/clinic/export.json",
    }
    assert all("florence" not in unquote(link).lower() for link in links)
    older = next(link for link in links if "after=" in link)
    second = signed_in.get(unescape(older)).get_data(as_text=True)
    assert len(references(second)) == 1  # the search still applies on the next page
    assert "Florence Nightingale" in second and "Other Person" not in second

    # An address whose search was changed, or typed by hand, says so and shows nothing.
    changed = address.replace("q=", "q=x")
    for refused in (changed, "/clinic/?q=Florence"):
        response = signed_in.get(refused)
        assert response.status_code == 400
        assert "address has expired or was changed" in response.get_data(as_text=True)


def test_a_search_address_opens_for_no_one_but_the_person_who_searched(
    app: Flask, signed_in: FlaskClient, clinic_id: int
) -> None:
    make_submission(app, clinic_id, name="Florence Nightingale")
    address = search_address(signed_in, q="Florence")
    colleague = make_staff(app, clinic_id, "colleague@alpha.example.org")
    other = app.test_client()
    login(other, colleague.email, colleague.password)

    for path in (address, address.replace("/clinic/?", "/clinic/export.csv?")):
        response = other.get(path)
        html = response.get_data(as_text=True)
        assert response.status_code == 400
        assert "address has expired or was changed" in html
        assert "Florence" not in html


def test_a_posted_search_that_is_too_long_is_explained(signed_in: FlaskClient) -> None:
    response = signed_in.post(
        "/clinic/", data={"csrf_token": csrf_token(signed_in, "/clinic/"), "q": "x" * 201}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "200 characters or fewer" in html and "There is a problem" in html
    assert 'value="' + "x" * 201 + '"' in html  # kept, to be shortened


def test_keyset_paging_older_and_newer(app: Flask, signed_in: FlaskClient, clinic_id: int) -> None:
    ids = [
        make_submission(app, clinic_id, name=f"Person {n:02d}", created_at=BASE_TIME)
        if n % 10 == 0
        else make_submission(
            app, clinic_id, name=f"Person {n:02d}", created_at=BASE_TIME + timedelta(minutes=n)
        )
        for n in range(55)
    ]
    with app.app_context():
        ordered = [
            row.reference
            for row in db.session.scalars(
                db.select(Submission).order_by(Submission.created_at.desc(), Submission.id.desc())
            )
        ]
    assert len(ids) == len(ordered) == 55

    first = signed_in.get("/clinic/").get_data(as_text=True)
    assert references(first) == ordered[:50]
    assert "Newer</a>" not in first
    older_link = re.search(r'href="([^"]+)">Older</a>', first)
    assert older_link
    second = signed_in.get(older_link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert references(second) == ordered[50:]
    assert "Older</a>" not in second
    newer_link = re.search(r'href="([^"]+)">Newer</a>', second)
    assert newer_link
    back = signed_in.get(newer_link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert references(back) == ordered[:50]
    assert "Newer</a>" not in back


def test_paging_keeps_the_filters(app: Flask, signed_in: FlaskClient, clinic_id: int) -> None:
    for n in range(52):
        answers = {"diabetes": "yes"} if n % 2 else {}
        make_submission(app, clinic_id, answers, created_at=BASE_TIME + timedelta(minutes=n))
    first = signed_in.get("/clinic/?diabetes=1").get_data(as_text=True)
    assert len(references(first)) == 26
    assert "Older</a>" not in first


@pytest.mark.parametrize(
    "cursor", ["yesterday", "2026-11-02T09:00:00.000000Z", "2026-13-02T09:00:00.000000Z_4", "1_2"]
)
def test_a_bad_cursor_is_a_clear_400(signed_in: FlaskClient, cursor: str) -> None:
    for name in ("after", "before"):
        response = signed_in.get("/clinic/", query_string={name: cursor})
        html = response.get_data(as_text=True)
        assert response.status_code == 400
        assert f"It must look like {name}=2026-11-24T09:30:00.000000Z_42" in html


def test_cursor_round_trip() -> None:
    moment = datetime(2026, 11, 24, 9, 30, 0, 123456, tzinfo=UTC)
    assert encode_cursor(moment, 42) == "2026-11-24T09:30:00.123456Z_42"
    assert decode_cursor(encode_cursor(moment, 42)) == (moment, 42)


# --- one submission ------------------------------------------------------------------------


def test_detail_shows_only_the_questions_asked_with_choice_labels(
    app: Flask, signed_in: FlaskClient, clinic_id: int
) -> None:
    asked = make_submission(
        app,
        clinic_id,
        {"earlier_injections": "yes", "injection_relief": "1_to_3_months", "allergies": ["none"]},
    )
    not_asked = make_submission(app, clinic_id, {"earlier_injections": "no"})
    html = signed_in.get(f"/clinic/submissions/{asked}").get_data(as_text=True)
    assert "How long did the last injection help?" in html
    assert "1 to 3 months" in html and "1_to_3_months" not in html
    assert "3 to 6 months" in html  # pain_duration, as its label
    # A visible optional question left blank is shown as such, a hidden one not at all.
    assert "Not answered" in html
    assert "Which blood thinner do you take?" not in html

    html = signed_in.get(f"/clinic/submissions/{not_asked}").get_data(as_text=True)
    assert "Have you had an injection for back or neck pain before?" in html
    assert "How long did the last injection help?" not in html


def test_a_stored_hidden_answer_is_never_shown(
    app: Flask, signed_in: FlaskClient, clinic_id: int
) -> None:
    submission_id = make_submission(app, clinic_id, {"earlier_injections": "no"})
    with app.app_context():
        row = db.session.get(Submission, submission_id)
        row.answers = {**row.answers, "injection_relief": "over_3_months"}
        db.session.commit()
    html = signed_in.get(f"/clinic/submissions/{submission_id}").get_data(as_text=True)
    assert "How long did the last injection help?" not in html
    assert "More than 3 months" not in html


def test_detail_shows_flags_the_sheet_and_why(
    app: Flask, signed_in: FlaskClient, clinic_id: int
) -> None:
    submission_id = make_submission(
        app, clinic_id, {"red_flags": ["bladder_or_bowel_change"], "blood_thinners": "yes"}
    )
    row = submission_row(app, submission_id)
    html = signed_in.get(f"/clinic/submissions/{submission_id}").get_data(as_text=True)
    assert html.index(">Urgent</li>") < html.index("Answers</h2>")
    assert "The patient was told to get medical help now" in html
    for reason in row.result["urgent_reasons"]:
        assert reason.replace("'", "&#39;") in html
    for note in row.result["care_team_notes"]:
        assert note["text"].replace("'", "&#39;") in html
    for rule in row.result["fired_rules"]:
        assert f"<code>{rule['id']}</code>" in html
    assert f"Rule set version {row.ruleset_version}" in html
    assert str(row.ruleset_sha256) in html
    assert "27 Mar 1960" in html


def test_viewing_a_submission_is_audited(
    app: Flask, signed_in: FlaskClient, clinic_id: int, nurse: Account
) -> None:
    submission_id = make_submission(app, clinic_id)
    signed_in.get(f"/clinic/submissions/{submission_id}")
    with app.app_context():
        row = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "submission_view"))
        assert row is not None
        assert (row.user_id, row.clinic_id, row.record_id) == (
            nurse.id,
            clinic_id,
            str(submission_id),
        )


def list_views(app: Flask) -> list[tuple[int | None, str | None]]:
    with app.app_context():
        rows = db.session.scalars(
            db.select(AuditEvent).where(AuditEvent.action == "list_view").order_by(AuditEvent.id)
        )
        return [(row.user_id, row.detail) for row in rows]


def test_viewing_the_list_is_audited_with_the_ids_shown_and_no_search_text(
    app: Flask, signed_in: FlaskClient, clinic_id: int, nurse: Account
) -> None:
    older = make_submission(app, clinic_id, name="Ada Lovelace", created_at=BASE_TIME)
    newer = make_submission(
        app, clinic_id, name="Grace Hopper", created_at=BASE_TIME + timedelta(hours=1)
    )
    signed_in.get("/clinic/")
    signed_in.get(search_address(signed_in, q="Ada"))
    signed_in.get("/clinic/?urgent=1")

    everything = (nurse.id, f"shown=2; filters=none; ids={newer},{older}")
    assert list_views(app) == [
        everything,
        everything,  # the search form is read from the list, as a person does
        (nurse.id, f"shown=1; filters=q; ids={older}"),
        (nurse.id, "shown=0; filters=urgent; ids=none"),
    ]
    # A refused filter shows no list, and records none.
    assert signed_in.get("/clinic/?from=yesterday").status_code == 400
    assert len(list_views(app)) == 4


def statements_of_one_list_page(app: Flask, client: FlaskClient) -> list[str]:
    with app.app_context():
        engine = db.engine
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        assert client.get("/clinic/").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return seen


def test_the_statements_of_a_list_page_do_not_grow_with_its_rows(
    app: Flask, signed_in: FlaskClient, clinic_id: int
) -> None:
    """Each row is drawn from what the list query loaded: none is loaded again one by one
    (as happened when the audit row's commit expired them before the page was drawn)."""
    make_submission(app, clinic_id)
    few = statements_of_one_list_page(app, signed_in)
    for _ in range(20):
        make_submission(app, clinic_id)
    many = statements_of_one_list_page(app, signed_in)
    assert len(many) == len(few), "\n".join(many)


def test_a_page_of_ids_too_long_to_keep_is_recorded_by_its_newest_and_oldest(
    app: Flask, signed_in: FlaskClient, clinic_id: int
) -> None:
    ids = [
        make_submission(app, clinic_id, created_at=BASE_TIME + timedelta(minutes=n))
        for n in range(PAGE_SIZE)
    ]
    with app.app_context():
        # Ids as long as a busy clinic's, years on: 50 of them would not fit in the row.
        for number, submission_id in enumerate(ids):
            db.session.execute(
                db.update(Submission)
                .where(Submission.id == submission_id)
                .values(id=1_000_000_000 + number)
            )
        db.session.commit()

    signed_in.get("/clinic/")

    ((_, detail),) = list_views(app)
    assert detail == f"shown={PAGE_SIZE}; filters=none; ids=1000000049..1000000000"


def test_a_missing_submission_is_404(signed_in: FlaskClient) -> None:
    response = signed_in.get("/clinic/submissions/999")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_review_keeps_who_and_when(
    app: Flask, signed_in: FlaskClient, clinic_id: int, nurse: Account
) -> None:
    submission_id = make_submission(app, clinic_id)
    path = f"/clinic/submissions/{submission_id}"
    token = csrf_token(signed_in, path)
    before = datetime.now(UTC)
    response = signed_in.post(
        f"{path}/review", data={"csrf_token": token, "note": "Called about warfarin plan."}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == path
    row = submission_row(app, submission_id)
    assert row.reviewed_by_id == nurse.id
    assert row.reviewed_at is not None and row.reviewed_at >= before - timedelta(seconds=1)
    assert row.review_note == "Called about warfarin plan."
    html = signed_in.get(path).get_data(as_text=True)
    assert "Marked as reviewed." in html
    assert "By Nurse Jones on" in html
    assert "Called about warfarin plan." in html
    assert ("review", str(submission_id)) in audit_actions(app)
    listing = signed_in.get("/clinic/?unreviewed=1").get_data(as_text=True)
    assert row.reference not in listing


def test_a_too_long_review_note_is_explained_and_kept(
    app: Flask, signed_in: FlaskClient, clinic_id: int
) -> None:
    submission_id = make_submission(app, clinic_id)
    path = f"/clinic/submissions/{submission_id}"
    token = csrf_token(signed_in, path)
    viewed = audit_actions(app).count(("submission_view", str(submission_id)))
    note = "n" * 2001
    response = signed_in.post(f"{path}/review", data={"csrf_token": token, "note": note})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "The note must be 2,000 characters or fewer; it has 2,001" in html
    assert note in html
    assert submission_row(app, submission_id).reviewed_at is None
    # The page shown again holds the patient's answers: showing it is audited like any view.
    assert "Ada Patient" in html
    assert audit_actions(app).count(("submission_view", str(submission_id))) == viewed + 1


def test_review_needs_csrf(app: Flask, signed_in: FlaskClient, clinic_id: int) -> None:
    submission_id = make_submission(app, clinic_id)
    response = signed_in.post(f"/clinic/submissions/{submission_id}/review", data={"note": "x"})
    assert response.status_code == 400
    assert submission_row(app, submission_id).reviewed_at is None


# --- the audit page ------------------------------------------------------------------------


def test_the_audit_page_is_for_admins_newest_first_and_audited(
    app: Flask, client: FlaskClient, clinic_id: int
) -> None:
    admin = make_staff(app, clinic_id, "lead@alpha.example.org", role="admin", name="Dr Lead")
    login(client, admin.email, admin.password)
    submission_id = make_submission(app, clinic_id)
    client.get(f"/clinic/submissions/{submission_id}")
    html = client.get("/clinic/audit").get_data(as_text=True)
    actions = re.findall(r"<td><code>([a-z_]+)</code></td>", html)
    assert actions[:3] == ["audit_view", "submission_view", "submission_create"]
    assert "login_success" in actions
    assert "Dr Lead" in html
    assert audit_actions(app)[-1] == ("audit_view", None)


def test_the_audit_page_pages_by_id(app: Flask, client: FlaskClient, clinic_id: int) -> None:
    admin = make_staff(app, clinic_id, "lead@alpha.example.org", role="admin")
    login(client, admin.email, admin.password)
    for _ in range(105):
        make_submission(app, clinic_id, date_of_birth=date(1970, 1, 1))
    first = client.get("/clinic/audit").get_data(as_text=True)
    assert first.count("<td><code>") == 100
    older = re.search(r'href="(/clinic/audit\?after=\d+)">Older</a>', first)
    assert older
    second = client.get(older.group(1)).get_data(as_text=True)
    assert 0 < second.count("<td><code>") < 100
    assert "Older</a>" not in second

    # Digits of other scripts pass str.isdigit(): "²" then broke int(), and "١٢" meant 12.
    for bad in ("x", "-1", "1.5", "%C2%B2", "1%C2%B2", "%E2%91%A0", "%D9%A1%D9%A2"):
        response = client.get(f"/clinic/audit?after={bad}")
        assert response.status_code == 400
        assert "must be a whole number" in response.get_data(as_text=True)


def test_the_date_filters_hint_gives_a_date_the_filter_takes(signed_in: FlaskClient) -> None:
    html = signed_in.get("/clinic/").get_data(as_text=True)
    for name in DATE_LABELS:
        hint = re.search(rf'<div id="{name}__hint" class="hint">([^<]*)</div>', html)
        assert hint is not None, name
        (example,) = re.findall(r"\d{4}-\d{2}-\d{2}", hint.group(1))
        assert "year-month-day" in hint.group(1)
        parsed = dashboard.parse_filters(MultiDict({name: example}), sealed=False)
        assert parsed.errors == []
