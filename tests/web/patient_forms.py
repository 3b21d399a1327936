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
                onward = re.search(r'href="([^"]+)"[^>]*>Continue (with|to check)', urgent.text)
                assert onward is not None, urgent.text
                url = onward.group(1)
            if url == "/check":
                visited.append(url)
                return visited
        raise AssertionError(f"the form never reached /check: {visited}")

    def saved_answers(self) -> dict[str, Any]:
        """The answers kept in the patient's session so far."""
        with self.client.session_transaction() as session:
            return dict(session.get("answers", {}))
