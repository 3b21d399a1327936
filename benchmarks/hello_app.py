"""The smallest Flask app: the baseline that web_bench.py measures the real pages against.

It is served by gunicorn with exactly the settings of the real app, so the ratio of the two
throughputs shows what the questionnaire itself costs, whatever the machine.
"""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Hello, World!"
