"""Which requests may change anything: a POST alone, which CSRF protection and the rate
limits check.

Flask answers a HEAD with the view of the GET at the same address. A view that takes both
GET and POST must therefore ask ``is_post()``, never ``request.method == "GET"``: a HEAD would
otherwise take the POST's path, past CSRF protection and the rate limits, neither of which
looks at a HEAD.
"""

from __future__ import annotations

from flask import request


def is_post() -> bool:
    """Whether this request is a form being sent; GET and HEAD only show a page."""
    return request.method == "POST"
