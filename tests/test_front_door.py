"""The README's front door: what `make run` runs is a valid shell command line."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_make_run_is_a_command_line_the_shell_can_read() -> None:
    if shutil.which("make") is None:
        pytest.fail("make is not installed; `make run` and `make test` need it")
    dry_run = subprocess.run(
        ["make", "--dry-run", "--always-make", "run", "PORT=5999"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    commands = dry_run.stdout
    assert "gunicorn --bind 127.0.0.1:5999" in commands
    syntax = subprocess.run(["sh", "-n"], input=commands, capture_output=True, text=True)
    assert syntax.returncode == 0, f"`make run` would fail in the shell: {syntax.stderr}"
