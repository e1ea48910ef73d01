"""The Hugging Face hub: whether it may be asked (``HF_HUB_OFFLINE``) and whether it answers.

``models`` (model downloads) and ``hub_data`` (data set downloads) both ask here first, so a
machine without a network fails in a second instead of after huggingface_hub's retries.
"""

from __future__ import annotations

import base64
import contextlib
import os
import socket
import urllib.request
from urllib.parse import unquote, urlsplit

__all__ = ["DEFAULT_ENDPOINT", "endpoint", "hub_reachable", "local_only", "offline_requested"]

DEFAULT_ENDPOINT = "https://huggingface.co"


def offline_requested() -> bool:
    """Whether ``HF_HUB_OFFLINE`` is set to a true value (1, true, yes, on)."""
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


def endpoint() -> str | None:
    """``$HF_ENDPOINT`` (a hub mirror), or None for the default hub."""
    return os.environ.get("HF_ENDPOINT") or None


def _proxy_for(url: str) -> str | None:
    """The proxy URL the environment sets for ``url`` (``HTTPS_PROXY``, ``HTTP_PROXY``,
    ``ALL_PROXY``, lower case too), or None when there is none or ``NO_PROXY`` exempts it."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return proxy if "://" in proxy else "http://" + proxy


def hub_reachable(timeout: float = 2.0) -> bool:
    """Return False when ``HF_HUB_OFFLINE`` is set or the hub cannot be reached quickly.

    The hub is ``$HF_ENDPOINT`` (default https://huggingface.co), at its own port. When
    the environment names a proxy for it (``HTTPS_PROXY`` and friends, minus ``NO_PROXY``),
    the check asks that proxy to open a tunnel to the hub, as a download would.
    """
    if offline_requested():
        return False
    url = endpoint() or DEFAULT_ENDPOINT
    parts = urlsplit(url)
    if not parts.hostname:
        return False
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        proxy = _proxy_for(url)
        if proxy is None:
            socket.create_connection((parts.hostname, port), timeout=timeout).close()
            return True
        via = urlsplit(proxy)
        with socket.create_connection((via.hostname, via.port or 8080), timeout=timeout) as connection:
            connection.settimeout(timeout)
            request = f"CONNECT {parts.hostname}:{port} HTTP/1.1\r\nHost: {parts.hostname}:{port}\r\n"
            if via.username:
                credentials = f"{unquote(via.username)}:{unquote(via.password or '')}".encode()
                request += f"Proxy-Authorization: Basic {base64.b64encode(credentials).decode()}\r\n"
            connection.sendall((request + "\r\n").encode())
            status = connection.recv(1024).split(b"\r\n", 1)[0].split()
        return len(status) >= 2 and status[1] == b"200"
    except (OSError, ValueError):
        return False


@contextlib.contextmanager
def local_only(offline: bool = True):
    """Make huggingface_hub skip every request while inside (it reads HF_HUB_OFFLINE only at import)."""
    from huggingface_hub import constants as hf_constants  # hub_data works without huggingface_hub installed

    previous = hf_constants.HF_HUB_OFFLINE
    hf_constants.HF_HUB_OFFLINE = previous or offline
    try:
        yield
    finally:
        hf_constants.HF_HUB_OFFLINE = previous
