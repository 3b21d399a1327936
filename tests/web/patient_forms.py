"""A patient filling in the form through the Flask test client, CSRF token and all."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from questionnaire.engine import RuleSet

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')

# The rule set's own example base: a patient with no risk factors.
TYPICAL: dict[str, Any] = {
    "pain_duration": "6_to_12_weeks",
    "conservative_care": ["physical_therapy"],
    "blood_thinners": "no",
    "diabetes": "no",
    "infection": "no",
    "red_flags": ["none"],
}

# A patient with nearly every risk factor and no red flag: the longest sheet without the urgent
# box (14 guide sections, 28 questions, 12 notes for the care team).
MANY_RISKS: dict[str, Any] = {
    "pain_duration": "under_6_weeks",
    "conservative_care": ["none"],
    "blood_thinners": "yes",
    "bleeding_disorder": "yes",
    "diabetes": "yes",
    "diabetes_control": "not_sure",
    "infection": "yes",
    "red_flags": ["none"],
    "allergies": ["contrast_dye", "local_anaesthetic", "steroid", "latex", "other"],
    "allergy_other": "penicillin",
    "pregnancy": "yes",
    "earlier_injections": "yes",
    "injection_relief": "did_not_help",
    "driver": "yes",
    "imaging_done": "not_sure",
    "diagnosis_given": "not_sure",
    "limb_pain": "leg",
    "pain_score": 9,
}

ALL_RED_FLAGS = [
    "bladder_or_bowel_change",
    "saddle_numbness",
    "worsening_leg_weakness",
    "fever_or_chills",
    "recent_major_injury",
    "cancer_history",
    "unexplained_weight_loss",
]

# "Not sure" to most questions, with most risk factors and no red flag: 32 questions and 15
# notes, more than two pages hold even with every guide section by title, until the compact
# print layout takes its first step (questionnaire/web/printlength.py).
NOT_SURE: dict[str, Any] = {
    "pain_duration": "6_to_12_weeks",
    "pain_location": ["lower_back", "mid_or_upper_back"],
    "limb_pain": "leg",
    "pain_score": 7,
    "red_flags": ["none"],
    "conservative_care": ["none"],
    "earlier_injections": "yes",
    "injection_relief": "under_1_week",
    "diagnosis_given": "yes",
    "imaging_done": "no",
    "blood_thinners": "not_sure",
    "bleeding_disorder": "yes",
    "diabetes": "yes",
    "diabetes_control": "not_sure",
    "infection": "not_sure",
    "allergies": ["contrast_dye", "local_anaesthetic", "steroid", "latex", "other", "not_sure"],
    "pregnancy": "not_sure",
    "driver": "no",
}

# The longest sheet a search of the answers found: NOT_SURE with new pain and every red flag
# (the urgent box with seven reasons, and one more note). It takes three steps of the compact
# print layout.
LONGEST: dict[str, Any] = {
    **NOT_SURE,
    "pain_duration": "under_6_weeks",
    "red_flags": ALL_RED_FLAGS,
}


def csrf_token(html: str) -> str:
    match = TOKEN.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def path_of(response: TestResponse) -> str:
    location = response.headers.get("Location", "")
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def form_data(answers: Mapping[str, Any]) -> dict[str, Any]:
    """Answers as the browser posts them: numbers as text, ticked boxes as lists."""
    return {key: value if isinstance(value, list) else str(value) for key, value in answers.items()}


class Patient:
    def __init__(self, client: FlaskClient, rs: RuleSet) -> None:
        self.client = client
        self.rs = rs

    def get(self, url: str) -> TestResponse:
        return self.client.get(url)

    def post(self, url: str, data: Mapping[str, Any]) -> TestResponse:
        """Open the page for its CSRF token, then post to it as the form would."""
        page = self.client.get(url)
        assert page.status_code == 200, (url, page.status_code)
        return self.client.post(url, data={**form_data(data), "csrf_token": csrf_token(page.text)})

    def answer_page(
        self, page_id: str, answers: Mapping[str, Any], query: str = ""
    ) -> TestResponse:
        own = {question.id for question in self.rs.page_by_id[page_id].questions}
        url = f"/questions/{page_id}{query}"
        return self.post(url, {key: value for key, value in answers.items() if key in own})

    def complete(self, answers: Mapping[str, Any]) -> list[str]:
        """Walk the form from the first page to /check; returns every path visited."""
        visited: list[str] = []
        url = f"/questions/{self.rs.questionnaire.pages[0].id}"
        for _ in range(len(self.rs.questionnaire.pages) + 2):
            visited.append(url)
            page_id = url.removeprefix("/questions/")
            response = self.answer_page(page_id, answers)
            assert response.status_code == 302, (url, response.status_code, response.text[:2000])
            url = path_of(response)
            if url == "/urgent":
                visited.append(url)
                urgent = self.get(url)
                url = re.search(r'href="([^"]+)"[^>]*>Continue to my answers', urgent.text).group(1)
            if url == "/check":
                visited.append(url)
                return visited
        raise AssertionError(f"the form never reached /check: {visited}")
