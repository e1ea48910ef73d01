"""Debian's headless Chromium under Playwright, with every request the page makes recorded."""

from __future__ import annotations

import os
import shutil
from urllib.parse import urlsplit

import pytest

CHROMIUM = os.environ.get("PROMPTLAB_CHROMIUM", "/usr/bin/chromium")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}  # as urlsplit gives hostnames (no brackets)
# Root needs --no-sandbox; the other flags stop Chromium's own background traffic, and the
# resolver rule makes sure that nothing but loopback could be reached even if a page tried.
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


def require_chromium() -> None:
    """Skip (or fail, where PROMPTLAB_REQUIRE_BROWSER is set, as in CI) when no browser is installed."""
    missing = [what for what, ok in [(CHROMIUM, shutil.which(CHROMIUM)), ("playwright", _has_playwright())]
               if not ok]
    if missing:
        message = (f"browser test needs {', '.join(missing)}: `apt-get install chromium` "
                   '(Debian) and `pip install -e ".[test]"`')
        if os.environ.get("PROMPTLAB_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)


def _has_playwright() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


def is_loopback(url: str) -> bool:
    """True for addresses that stay on this machine (loopback hosts, data: and blob: URLs)."""
    parts = urlsplit(url)
    return parts.scheme in {"data", "blob", "file", "about"} or parts.hostname in LOOPBACK


class RequestLog:
    """Every URL a browser context asks for; anything off the machine is recorded and aborted."""

    def __init__(self, context) -> None:
        self.urls: list[str] = []
        self.external: list[str] = []
        context.route("**/*", self._route)
        context.on("page", lambda page: page.on("websocket", lambda ws: self._record(ws.url)))

    def _record(self, url: str) -> bool:
        self.urls.append(url)
        if not is_loopback(url):
            self.external.append(url)
            return False
        return True

    def _route(self, route) -> None:
        if self._record(route.request.url):
            route.continue_()
        else:
            route.abort()


def launch(playwright):
    """Start headless Debian Chromium."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
