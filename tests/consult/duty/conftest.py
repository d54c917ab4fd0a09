"""Fixtures of the on-duty tests: English pages, sign-in limits out of the way, and a
signed-in patient with an activated policy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from core import clock
from tests.fixtures.accounts import sign_in
from tests.fixtures.consult import ACTIVATED


@pytest.fixture
def english_and_relaxed_limits(app: Flask, client: FlaskClient) -> None:
    """English pages and sign-in limits that many sign-ins in one test do not reach."""
    client.set_cookie("lang", "en")
    app.config.update(RATELIMIT_LOGIN_ACCOUNT_IP="1000 per minute",
                      RATELIMIT_LOGIN_ACCOUNT="1000 per minute",
                      RATELIMIT_SECOND_FACTOR="1000 per minute")


@pytest.fixture
def patient(app: Flask, client: FlaskClient, no_csrf: Flask,
            activated_patient: Callable[..., Any]) -> tuple[Any, Any]:
    """A patient with an activated policy, signed in on ``client``."""
    clock.freeze(ACTIVATED)
    user, insured = activated_patient(client)
    sign_in(client, user)
    return user, insured
