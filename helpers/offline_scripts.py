"""Offline JavaScript for BertViz: its view scripts with d3 and jQuery from installed packages.

BertViz's scripts ask require.js to fetch d3 5.7.0 and jQuery from a public CDN, so with
no network they draw nothing. Here the same scripts run inside one self-contained
``<script>`` with the libraries read from Python packages that the set-up command
installs: d3 5.7.0 from ``mpld3`` and jQuery 3.7 from ``XStatic-jQuery``.
"""

from __future__ import annotations

import importlib.util
import json
import re
from functools import cache
from pathlib import Path

__all__ = ["LIBRARY_FILES", "OfflineScriptError", "library_source", "view_script"]

# module name the BertViz scripts ask for -> (installed Python package, file inside it)
LIBRARY_FILES = {
    "d3": ("mpld3", "js/d3.v5.min.js"),
    "jquery": ("xstatic.pkg.jquery", "data/jquery.min.js"),
}
VIEW_SCRIPTS = ("head_view", "model_view", "neuron_view")

# BertViz 1.4 scripts start with a require.config block naming CDN addresses, and take their
# parameters either from a PYTHON_PARAMS marker or from window.bertviz_params.
_REQUIRE_CONFIG = re.compile(r"require\.config\(\{\s*paths:\s*\{[^{}]*\}\s*\}\);")
_PARAM_MARKERS = ("PYTHON_PARAMS", "window.bertviz_params")


class OfflineScriptError(RuntimeError):
    """A library or BertViz script is missing or not in the shape this module expects."""


def _package_file(package: str, relative: str) -> Path:
    """Locate a data file inside an installed package without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise OfflineScriptError(
            f"the package {package!r} is not installed; the attention views read their JavaScript "
            'from it. Install the project with `pip install -e ".[test]"` (README, command 1).'
        )
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise OfflineScriptError(f"{path} is missing; reinstall {package!r}")
    return path


@cache
def library_source(name: str) -> str:
    """Return the JavaScript source of a library the views need ("d3" or "jquery")."""
    package, relative = LIBRARY_FILES[name]
    source = _package_file(package, relative).read_text(encoding="utf-8")
    if "</script" in source.lower():
        raise OfflineScriptError(f"{package}/{relative} contains '</script' and cannot be inlined")
    return source


@cache
def _bertviz_source(view: str) -> str:
    """Return BertViz's script for one view with its CDN configuration removed."""
    source = _package_file("bertviz", f"{view}.js").read_text(encoding="utf-8")
    source, removed = _REQUIRE_CONFIG.subn("", source)
    markers = [m for m in _PARAM_MARKERS if m in source]
    if removed != 1 or len(markers) != 1 or "cdnjs" in source:
        raise OfflineScriptError(
            f"bertviz/{view}.js is not the shape this project was written for (bertviz==1.4.1); "
            "install the version pinned in pyproject.toml"
        )
    return source


def _as_module(name: str) -> str:
    """Wrap a UMD library so that it fills a local CommonJS module, leaving globals alone."""
    return (f"modules[{json.dumps(name)}] = load(function (module, exports) {{\nvar define;\n"
            f"{library_source(name)}\n}});\n")


def view_script(view: str, params: dict, root_id: str) -> str:
    """Return a self-contained script that draws one BertViz view into the element ``root_id``."""
    if view not in VIEW_SCRIPTS:
        raise ValueError(f"unknown view {view!r}; expected one of {VIEW_SCRIPTS}")
    source = _bertviz_source(view)
    marker = next(m for m in _PARAM_MARKERS if m in source)
    # "<\/" reads as "</" in a JavaScript string but cannot close the surrounding <script>.
    data = json.dumps(params, separators=(",", ":")).replace("</", "<\\/")
    body = source.replace(marker, data, 1)
    root = json.dumps(root_id)
    return (
        "(function () {\n"
        "var modules = {};\n"
        "function load(factory) { var module = {exports: {}}; factory(module, module.exports); "
        "return module.exports; }\n"
        + "".join(_as_module(name) for name in LIBRARY_FILES)
        + "function requirejs(names, callback) { callback.apply(null, names.map(function (n) "
        "{ return modules[n]; })); }\n"
        "try {\n" + body + "\n} catch (err) {\n"
        f"  var root = document.getElementById({root});\n"
        "  if (root) { root.insertAdjacentText('beforeend', 'The attention view failed: ' + err); }\n"
        "  throw err;\n}\n"
        "})();\n"
    )
