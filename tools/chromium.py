"""Debian's headless Chromium under Playwright, with every request the page makes recorded.

Used by the browser tests (tests/browser/) and bench/attention_views.py.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

CHROMIUM = os.environ.get("PROMPTLAB_CHROMIUM", "/usr/bin/chromium")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}  # as urlsplit gives hostnames (no brackets)
# Root needs --no-sandbox; the other flags stop Chromium's own background traffic, and the
# resolver rule makes sure that nothing but loopback could be reached even if a page tried.
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


def missing_browser() -> str | None:
    """What is missing to run Chromium under Playwright here, as a message with the fix, or None."""
    missing = [what for what, ok in [(CHROMIUM, shutil.which(CHROMIUM)), ("playwright", _has_playwright())]
               if not ok]
    if not missing:
        return None
    return (f"needs {', '.join(missing)}: `apt-get install chromium` (Debian) and "
            '`pip install -e ".[test]"`')


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


@contextlib.contextmanager
def jupyterlab(root: Path) -> Iterator[tuple[str, str]]:
    """JupyterLab serving ``root`` on a free loopback port, with a random token and throwaway
    settings (no news pop-up over the page); yields ``(base URL, token)`` and stops it after."""
    news = root / ".settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text('{"fetchNews": "false", "checkForUpdates": false}')
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = secrets.token_hex(16)
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(root / ".settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(root / ".workspaces"), "JUPYTER_RUNTIME_DIR": str(root / ".runtime")}
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        env=env, stdout=subprocess.DEVNULL, stderr=open(root / "server.log", "w"),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None:
                    raise RuntimeError(f"JupyterLab exited:\n{(root / 'server.log').read_text()[-3000:]}") from None
                time.sleep(0.5)
        else:
            raise RuntimeError("JupyterLab did not answer within 60 s")
        yield base, token
    finally:
        server.terminate()
        server.wait(timeout=30)
