"""Fixtures shared by the whole suite.

Components the suite talks to for real (PostgreSQL, Redis, Chromium) are optional on a
developer's machine and required under ``CI=true``: there a missing one fails the test
instead of skipping it, so a green CI always means the real thing ran.
"""

from __future__ import annotations

import os

import pytest


def need(component: str, available: bool, why: str = "") -> None:
    """Skip the calling test when ``component`` is missing, or fail it under CI."""
    if available:
        return
    message = f"{component} is not available{': ' + why if why else ''}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (required under CI=true)")
    pytest.skip(message)
