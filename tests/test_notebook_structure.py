"""Structural checks on every tutorial notebook: the form every notebook must have.

Reads the .ipynb files as JSON; executes nothing, so it is fast and needs no model.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
MAX_CODE_LINES = 20


def _params() -> list:
    return [pytest.param(path, id=path.name) for path in sorted(NOTEBOOK_DIR.glob("*.ipynb"))]


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def test_there_are_notebooks() -> None:
    assert len(list(NOTEBOOK_DIR.glob("*.ipynb"))) >= 4


@pytest.mark.parametrize("path", _params())
def test_first_code_cell_is_parameters(path: Path) -> None:
    first = next(c for c in _cells(path) if c["cell_type"] == "code")
    assert "parameters" in _tags(first), "tag the first code cell `parameters` (papermill)"


@pytest.mark.parametrize("path", _params())
def test_has_latex_equation(path: Path) -> None:
    markdown = "\n".join(_source(c) for c in _cells(path) if c["cell_type"] == "markdown")
    assert re.search(r"\$\$.+?\$\$|\$[^$\n]*\\[a-zA-Z]+[^$\n]*\$", markdown, re.S), "no LaTeX equation in markdown"


@pytest.mark.parametrize("path", _params())
def test_has_references_section_with_links(path: Path) -> None:
    for cell in _cells(path):
        text = _source(cell)
        match = re.search(r"^#+\s*References\b(.*)", text, re.S | re.M)
        if cell["cell_type"] == "markdown" and match:
            links = re.findall(r"https?://\S+", match.group(1))
            assert len(links) >= 2, f"References section has {len(links)} links; need at least 2"
            return
    pytest.fail("no markdown heading `References`")


def _assert_count(source: str) -> int:
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    tree = ast.parse("\n".join(lines))
    return sum(isinstance(node, ast.Assert) for node in ast.walk(tree))


@pytest.mark.parametrize("path", _params())
def test_at_least_three_asserts_outside_solutions(path: Path) -> None:
    count = sum(_assert_count(_source(c)) for c in _cells(path)
                if c["cell_type"] == "code" and "solution" not in _tags(c))
    assert count >= 3, f"{count} assert statements outside solution cells; need at least 3"


@pytest.mark.parametrize("path", _params())
def test_solutions_are_hidden(path: Path) -> None:
    solutions = [c for c in _cells(path) if "solution" in _tags(c)]
    assert solutions, "no cell tagged `solution`"
    for cell in solutions:
        jupyter = cell.get("metadata", {}).get("jupyter", {})
        assert jupyter.get("source_hidden") is True, _source(cell)[:80]
        if cell["cell_type"] == "code":
            assert jupyter.get("outputs_hidden") is True, _source(cell)[:80]


@pytest.mark.parametrize("path", _params())
def test_code_cells_are_short(path: Path) -> None:
    long = [(i, len(_source(c).splitlines())) for i, c in enumerate(_cells(path))
            if c["cell_type"] == "code" and len(_source(c).splitlines()) > MAX_CODE_LINES]
    assert not long, f"code cells over {MAX_CODE_LINES} lines (cell index, lines): {long}"
