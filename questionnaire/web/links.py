"""``url_for`` for templates, remembering the links that are the same on every page.

The layout builds the same handful of links on every page (stylesheets, script, start, guide).
A link to an endpoint with no arguments, or to a static file, depends only on the endpoint,
the file and the path the app is mounted at, so it is built once and then looked up. Every
other link (relative endpoints, arguments, anchors, absolute URLs) is built as usual.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, has_request_context, request

# Endpoints and static files are a fixed, small set; the bound only guards against misuse.
_MAX_LINKS = 256


def install_link_cache(app: Flask) -> None:
    app.jinja_env.globals["url_for"] = cached_url_for(app.url_for)


def cached_url_for(build: Callable[..., str]) -> Callable[..., str]:
    links: dict[tuple[str, str, str | None], str] = {}

    def url_for(endpoint: str, **values: Any) -> str:
        if endpoint.startswith(".") or not has_request_context():
            return build(endpoint, **values)
        if not values:
            key = (request.script_root, endpoint, None)
        elif endpoint == "static" and len(values) == 1 and isinstance(values.get("filename"), str):
            key = (request.script_root, endpoint, values["filename"])
        else:
            return build(endpoint, **values)
        link = links.get(key)
        if link is None:
            link = build(endpoint, **values)
            if len(links) < _MAX_LINKS:
                links[key] = link
        return link

    return url_for
