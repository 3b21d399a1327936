"""Fixtures of the web tests."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from patient_forms import Patient

from questionnaire.engine import RuleSet


@pytest.fixture
def patient(client: FlaskClient, ruleset: RuleSet) -> Patient:
    """A patient filling in the form on ``client``."""
    return Patient(client, ruleset)
