"""The browser tests: tools/chromium.py on the path, and a skip (a failure where
PROMPTLAB_REQUIRE_BROWSER is set, as in CI) where no browser is installed."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
from chromium import missing_browser  # noqa: E402


def require_chromium() -> None:
    """Skip the test, or fail it where PROMPTLAB_REQUIRE_BROWSER is set, when no browser is installed."""
    message = missing_browser()
    if message:
        message = f"browser test {message}"
        if os.environ.get("PROMPTLAB_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def chromium_required() -> None:
    """Depend on this fixture in a test that needs Chromium."""
    require_chromium()
