"""A NUL character anywhere in a request gets a clear 400, never a database error."""

from __future__ import annotations

import logging

import pytest
from flask.testing import FlaskClient

from questionnaire.web.logfilters import DropQueryStrings


@pytest.mark.parametrize(
    ("method", "url", "data"),
    [
        ("get", "/c/al%00pha/", None),
        ("get", "/clinic/login?next=%00", None),
        ("get", "/guide?paper=a4&%00name=x", None),
        ("post", "/clinic/login", {"email": "a\x00@example.org", "password": "x"}),
        ("post", "/questions/your-pain", {"pain_duration": "under_6_weeks\x00"}),
    ],
)
def test_a_nul_character_is_refused_with_a_message(
    client: FlaskClient, method: str, url: str, data: dict[str, str] | None
) -> None:
    response = getattr(client, method)(url, data=data)
    assert response.status_code == 400
    assert "NUL character" in response.get_data(as_text=True)


def test_request_lines_lose_their_query_strings() -> None:
    record = logging.LogRecord(
        "werkzeug",
        logging.INFO,
        __file__,
        1,
        '"%s" %s %s',
        ("GET /clinic/?q=Smith+Jane HTTP/1.1", "200", "-"),
        None,
    )
    DropQueryStrings().filter(record)
    assert "Smith" not in record.getMessage()
    assert "GET /clinic/ HTTP/1.1" in record.getMessage()


def test_proxy_hops_take_the_client_address_from_the_proxy(tmp_path) -> None:
    from questionnaire import create_app

    app = create_app(
        {
            "TESTING": True,
            "PROXY_HOPS": 1,
            "SECRET_KEY": "k",
            "SECURE_COOKIES": False,
            "INSTANCE_PATH": str(tmp_path),
        }
    )
    seen: list[str | None] = []

    @app.get("/_whoami")
    def whoami() -> str:
        from flask import request

        seen.append(request.remote_addr)
        return "ok"

    app.test_client().get("/_whoami", headers={"X-Forwarded-For": "203.0.113.9"})
    assert seen == ["203.0.113.9"]
