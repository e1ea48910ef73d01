"""The classroom kit: slide metadata, offline reveal.js decks, student copies and a static site.

One command per job, run from the project root::

    python tools/classroom.py tag [--check]    # slide metadata into notebooks/*.ipynb (idempotent)
    python tools/classroom.py times            # seconds each section's code took in the stored run
    python tools/classroom.py slides OUT       # OUT/NN_name.slides.html, one reveal.js deck per notebook
    python tools/classroom.py student OUT      # OUT/NN_name.ipynb without the solution cells
    python tools/classroom.py site OUT         # OUT/index.html + OUT/NN_name.html, readable offline
    python tools/classroom.py run OUT --set MODEL='"bert-base-uncased"' --set DEVICE='"cuda"'
                                               # executed copies with other parameters

Every command takes ``--notebooks DIR`` (default: notebooks/). Decks and pages load reveal.js
and MathJax from ``OUT/_static``, copied from installed packages (``sphinx-revealjs``,
``jupyter-server-mathjax``), so they open from disk with no network. The attention views need
a kernel in a notebook; ``slides`` and ``site`` run each notebook up to its last view once and
keep every view as a standalone page (``AttentionView.save``) shown in an iframe
(``--no-views`` skips that run and leaves a note instead).
"""

from __future__ import annotations

import argparse
import ast
import copy
import html
import importlib.util
import os
import re
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
TEMPLATES = Path(__file__).resolve().parent / "classroom_templates"

SOLUTION_TAG = "solution"
HEADING = re.compile(r"^(#{1,2})\s+\S", re.MULTILINE)
EXERCISES_HEADING = re.compile(r"^##\s+Exercises\b", re.MULTILINE)
# A slide holds about this many lines (source + output) before a section goes on in a sub-slide.
SLIDE_LINES = 20
IMAGE_LINES = 14  # a figure takes about as much room as this many lines of text
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
# helpers.attention_views.VIEW_METADATA and VIEWS_DIR_VARIABLE (this tool does not import the package):
# a displayed view's output metadata, {"kind": ..., "tokens": n[, "page": file name]}, and the
# variable that makes the kernel save each displayed view as a page in a folder.
VIEW_METADATA = "promptlab_attention_view"
VIEWS_DIR_VARIABLE = "PROMPTLAB_VIEWS_DIR"
# iframe heights in px: a fixed part plus a row per token (a framed page cannot be measured from file://)
VIEW_HEIGHT = {"head_view": (110, 24), "model_view": (900, 0), "neuron_view": (160, 24)}
RISE_SETTINGS = {"scroll": True, "theme": "white", "transition": "slide"}
# Seconds a cell may run when this tool executes a notebook: at least CELL_TIMEOUT, ten times the
# cell's stored run time, and TRAINING_TIMEOUT for a cell tagged "training"; past it the run stops
# with an error that names the notebook and the cell.
CELL_TIMEOUT = 600
STORED_TIME_FACTOR = 10
TRAINING_TAG = "training"
TRAINING_TIMEOUT = 3600


class ClassroomError(RuntimeError):
    """A notebook or an installation is not in the state a classroom command needs; the message says how to fix it."""


# ----------------------------------------------------------------------------- reading notebooks

def notebook_paths(folder: Path) -> list[Path]:
    """The series' notebooks in chapter order (``NN_name.ipynb``); an empty folder is an error."""
    paths = sorted(p for p in Path(folder).glob("*.ipynb") if not p.name.startswith("."))
    if not paths:
        raise ClassroomError(f"no notebooks in {folder}; pass --notebooks with the folder that holds the .ipynb files")
    return paths


def is_solution(cell) -> bool:
    """A cell of a hidden solution (tagged ``solution``)."""
    return SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])


SOLUTION_LABEL = re.compile(r"\s*\*\*Solution\b[^*\n]*\*\*\s*")


def is_solution_label(cell) -> bool:
    """A visible markdown cell that only announces a solution ("**Solution 2**")."""
    return cell.get("cell_type") == "markdown" and bool(SOLUTION_LABEL.fullmatch(cell.get("source", "")))


def _hidden_untagged(nb) -> list[int]:
    """Cells whose source is hidden but that are not tagged as solutions."""
    return [i for i, c in enumerate(nb.cells) if not is_solution(c)
            and c.metadata.get("jupyter", {}).get("source_hidden")]


def headings(nb) -> int:
    """How many ``#`` and ``##`` headings the notebook's markdown cells hold."""
    return sum(len(HEADING.findall(c.source)) for c in nb.cells if c.cell_type == "markdown")


def slide_count(nb) -> int:
    """Slides and sub-slides the stored slide metadata makes (a deck's horizontal and vertical pages)."""
    return sum(c.metadata.get("slideshow", {}).get("slide_type") in ("slide", "subslide") for c in nb.cells)


def title_of(nb, fallback: str) -> str:
    """The text of the notebook's first ``#`` heading."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = re.search(r"^#\s+(.+)$", cell.source, re.MULTILINE)
            if match:
                return match.group(1).strip()
    return fallback


def _exercise_cells(nb) -> range:
    """Indices of the exercise section: from the cell with ``## Exercises`` to the next ``##`` heading or the end."""
    start = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"
                  and EXERCISES_HEADING.search(c.source)), None)
    if start is None:
        return range(0)
    end = next((i for i in range(start + 1, len(nb.cells)) if nb.cells[i].cell_type == "markdown"
                and re.match(r"##\s", nb.cells[i].source) and not is_solution(nb.cells[i])), len(nb.cells))
    return range(start, end)


# ----------------------------------------------------------------------------- slide metadata

def _cell_lines(cell) -> int:
    """About how many lines of a slide a cell fills: its source and its outputs."""
    lines = len(cell.source.splitlines()) or 1
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            lines += len(output.text.splitlines())
        elif output.output_type in ("display_data", "execute_result"):
            data = output.get("data", {})
            if "image/png" in data or "image/svg+xml" in data or WIDGET_MIME in data:
                lines += IMAGE_LINES
            else:
                lines += len(str(data.get("text/plain", "")).splitlines())
        elif output.output_type == "error":
            lines += len(output.get("traceback", []))
    return lines


def slide_types(nb) -> list[str]:
    """The RISE/nbconvert ``slide_type`` of every cell.

    The title cell and every markdown cell with a ``#``/``##`` heading start a slide; a
    section longer than ``SLIDE_LINES`` goes on in sub-slides, never between prose and the code
    after it (a slide that is still too long scrolls); within a (sub-)slide, prose after
    code appears as a fragment (on the next key press); solution cells are skipped.
    """
    types, filled = [], 0
    for i, cell in enumerate(nb.cells):
        if is_solution(cell) or is_solution_label(cell):
            types.append("skip")
            continue
        lines = _cell_lines(cell)
        if i == 0 or (cell.cell_type == "markdown" and HEADING.search(cell.source)):
            kind, filled = "slide", lines
        elif filled and filled + lines > SLIDE_LINES and nb.cells[i - 1].cell_type != "markdown":
            kind, filled = "subslide", lines  # (prose stays with the code it introduces)
        else:
            kind = "fragment" if cell.cell_type == "markdown" and filled else "-"
            filled += lines
        types.append(kind)
    return types


def tag_notebook(nb) -> bool:
    """Write slide metadata (and RISE's deck settings) into ``nb``; return whether anything changed."""
    before = copy.deepcopy(nb)
    for cell, kind in zip(nb.cells, slide_types(nb)):
        cell.metadata["slideshow"] = {"slide_type": kind}
    nb.metadata["rise"] = {**nb.metadata.get("rise", {}), **RISE_SETTINGS}
    return nb != before


def cmd_tag(folder: Path, check: bool = False) -> int:
    """Tag every notebook; with ``check``, change nothing and fail when a notebook is not up to date."""
    stale = []
    for path in notebook_paths(folder):
        nb = nbformat.read(path, as_version=4)
        if tag_notebook(nb):
            stale.append(path.name)
            if not check:
                nbformat.write(nb, path)
        print(f"{path.name}: {slide_count(nb)} slides for {headings(nb)} headings"
              + (" (changed)" if path.name in stale else ""))
    if check and stale:
        print(f"slide metadata out of date in {', '.join(stale)}: run `python tools/classroom.py tag`",
              file=sys.stderr)
        return 1
    return 0


# ----------------------------------------------------------------------------- run time per section

def _seconds(cell) -> float | None:
    """How long the stored run of a code cell took, from nbclient's timestamps (None when not recorded)."""
    from datetime import datetime

    stamps = cell.metadata.get("execution", {})
    try:
        start, end = (datetime.fromisoformat(stamps[k].replace("Z", "+00:00"))
                      for k in ("iopub.execute_input", "shell.execute_reply"))
    except (KeyError, ValueError):
        return None
    return (end - start).total_seconds()


def section_times(nb) -> list[tuple[str, float, bool]]:
    """(section heading, seconds its code took in the stored run, whether any time was recorded), in order."""
    sections: list[list] = [["(before the first section)", 0.0, False]]
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for heading in re.findall(r"^#{1,2}\s+(.+)$", cell.source, re.MULTILINE):
                sections.append([heading.strip(), 0.0, False])
        elif not is_solution(cell):
            seconds = _seconds(cell)
            if seconds is not None:
                sections[-1][1] += seconds
                sections[-1][2] = True
    return [tuple(s) for s in sections if s[2] or s[0] != "(before the first section)"]


def cmd_times(folder: Path) -> None:
    """Print, per notebook and section, how long its cells took when the stored outputs were made."""
    for path in notebook_paths(folder):
        nb = nbformat.read(path, as_version=4)
        rows = section_times(nb)
        total = sum(seconds for _, seconds, _ in rows)
        print(f"\n{path.name}: {total:.0f} s of code in the stored run (solutions not counted)")
        for heading, seconds, recorded in rows:
            print(f"  {seconds:7.1f} s  {heading}" if recorded else f"        -    {heading}")


# ----------------------------------------------------------------------------- executing notebooks

def cell_timeout(cell, floor: int = CELL_TIMEOUT) -> int:
    """Seconds ``cell`` may run: ``floor``, ten times its stored run time, or TRAINING_TIMEOUT
    when tagged "training", whichever is largest."""
    seconds = floor
    stored = _seconds(cell)
    if stored is not None:
        seconds = max(seconds, int(STORED_TIME_FACTOR * stored) + 1)
    if TRAINING_TAG in cell.metadata.get("tags", []):
        seconds = max(seconds, TRAINING_TIMEOUT)
    return seconds


def execute(nb, path: Path, timeout: int = CELL_TIMEOUT, indices: Sequence[int] | None = None,
            allow_errors: bool = False) -> None:
    """Run ``nb`` in place with this checkout's ``helpers``, each cell under ``cell_timeout(cell, timeout)``.

    A cell that does not finish in time (a slow cell or a stalled kernel) ends the run with a
    ``ClassroomError`` naming ``path`` and the cell; ``indices`` maps the cells of ``nb`` to
    their numbers in the notebook at ``path`` when ``nb`` is a selection of its cells.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError

    # the kernel imports this checkout's helpers, whatever is installed
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    running: list = [None, 0]  # the cell being run and its limit

    def limit(cell) -> int:
        running[:] = [cell, cell_timeout(cell, timeout)]
        return running[1]

    client = NotebookClient(nb, timeout_func=limit, kernel_name="python3", allow_errors=allow_errors,
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except CellTimeoutError as error:
        position = next((k for k, c in enumerate(nb.cells) if c is running[0]), None)
        number = position if indices is None or position is None else indices[position]
        first = (running[0].source.strip().splitlines() or [""])[0][:80] if running[0] is not None else ""
        raise ClassroomError(f"{path.name}: cell {number} ({first!r}) did not finish within {running[1]} s, so the "
                             "run was stopped (a stalled kernel or a slow machine); run the command again, or tag "
                             f"the cell '{TRAINING_TAG}' if it needs longer") from error


# ----------------------------------------------------------------------------- running with other parameters

def _parameters(assignments: Sequence[str], nb, name: str) -> str:
    """The source of an injected cell from ``NAME=VALUE`` strings, checked against the parameters cell."""
    cell = next((c for c in nb.cells if "parameters" in c.metadata.get("tags", [])), None)
    if cell is None:
        raise ClassroomError(f"{name} has no cell tagged 'parameters' to override")
    known = {t.id for node in ast.walk(ast.parse(cell.source)) if isinstance(node, ast.Assign)
             for t in node.targets if isinstance(t, ast.Name)}
    lines = []
    for assignment in assignments:
        key, sep, value = assignment.partition("=")
        key = key.strip()
        if not sep or key not in known:
            raise ClassroomError(f"--set {assignment!r}: {name}'s parameters are {', '.join(sorted(known))}; "
                                 "write NAME=VALUE with one of them")
        try:
            ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            raise ClassroomError(f"--set {assignment!r}: the value must be a Python literal; quote strings, "
                                 f"e.g. --set {key}='\"bert-base-uncased\"'") from None
        lines.append(f"{key} = {value.strip()}")
    return "# parameters set by tools/classroom.py run\n" + "\n".join(lines)


def cmd_run(folder: Path, out: Path, assignments: Sequence[str], only: Sequence[str] = (),
            timeout: int = 3600) -> int:
    """Execute the notebooks with some parameters changed, into ``out``; the stored notebooks stay as they are.

    Returns 1 if any cell raised (the run goes on, so one pinned number does not stop the rest).
    """
    out.mkdir(parents=True, exist_ok=True)
    paths = [p for p in notebook_paths(folder) if not only or p.name[:2] in only or p.stem in only]
    if not paths:
        raise ClassroomError(f"--only {' '.join(only)} matches no notebook in {folder}")
    failed = False
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        position = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])) \
            if assignments else None
        if assignments:
            injected = nbformat.v4.new_code_cell(_parameters(assignments, nb, path.name))
            injected.metadata["tags"] = ["injected-parameters"]
            nb.cells.insert(position + 1, injected)
        print(f"{path.name}: running", flush=True)
        execute(nb, path, timeout=timeout, allow_errors=True)
        nbformat.write(nb, out / path.name)
        errors = [(i, o) for i, c in enumerate(nb.cells) if c.cell_type == "code"
                  for o in c.outputs if o.output_type == "error"]
        for i, error in errors:
            print(f"  cell {i}: {error.ename}: {error.evalue[:200]}")
        failed = failed or bool(errors)
        print(f"{out / path.name}: {len(errors)} cells raised")
    return 1 if failed else 0


# ----------------------------------------------------------------------------- student copies

def student_copy(nb, name: str = "notebook"):
    """``nb`` without its solution cells (and "**Solution k**" labels), with the exercise section's outputs cleared."""
    hidden = _hidden_untagged(nb)
    if hidden:
        raise ClassroomError(
            f"{name}: cells {hidden} have hidden source but no '{SOLUTION_TAG}' tag, so a student copy would "
            f"keep them; tag them '{SOLUTION_TAG}' (or unhide them if they are not answers)")
    nb = copy.deepcopy(nb)
    exercises = set(_exercise_cells(nb))
    kept = []
    for i, cell in enumerate(nb.cells):
        if is_solution(cell) or is_solution_label(cell):
            continue
        if i in exercises and cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        kept.append(cell)
    nb.cells = kept
    return nb


def cmd_student(folder: Path, out: Path) -> list[Path]:
    """Write a student copy of every notebook into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebook_paths(folder):
        nb = nbformat.read(path, as_version=4)
        copy_ = student_copy(nb, path.name)
        removed = len(nb.cells) - len(copy_.cells)
        if not removed:
            print(f"warning: {path.name} has no cell tagged '{SOLUTION_TAG}'", file=sys.stderr)
        nbformat.write(copy_, out / path.name)
        written.append(out / path.name)
        print(f"{out / path.name}: {removed} solution cells removed")
    return written


# ----------------------------------------------------------------------------- offline assets

def _package_dir(package: str, sub: str, what: str) -> Path:
    spec = importlib.util.find_spec(package)
    folder = Path(next(iter(spec.submodule_search_locations))) / sub if spec else None
    if folder is None or not folder.is_dir():
        raise ClassroomError(f"{what} comes from the '{package}' package, which is not installed: "
                             f"pip install -e . (it is pinned in pyproject.toml)")
    return folder


def copy_static(out: Path, reveal: bool) -> dict[str, str]:
    """Copy MathJax (and reveal.js) into ``out/_static``; return their URLs relative to ``out``."""
    static = out / "_static"
    mathjax = _package_dir("jupyter_server_mathjax", "static", "MathJax")
    # the accessibility explorer's speech maps (3.5 MB) load only when a reader turns it on
    shutil.copytree(mathjax, static / "mathjax", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("mathmaps", "*.map"))
    urls = {"mathjax_url": "_static/mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"}
    if reveal:
        source = _package_dir("sphinx_revealjs", "_static/revealjs", "reveal.js")
        shutil.copytree(source, static / "revealjs", dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("*.map", "*.scss", "css", "*.esm.js"))
        urls["reveal_url_prefix"] = "_static/revealjs"
    return urls


# ----------------------------------------------------------------------------- views and widgets

def _output_text(output) -> str:
    text = output.get("data", {}).get("text/plain", "")
    return "".join(text) if isinstance(text, list) else str(text)


def view_of(output) -> dict | None:
    """The metadata of a displayed attention view (``{"kind", "tokens"[, "page"]}``), or None."""
    found = output.get("metadata", {}).get(VIEW_METADATA)
    return found if isinstance(found, dict) else None


def is_view_output(output) -> bool:
    """A stored attention view (its output metadata describes the view)."""
    return view_of(output) is not None


def render_views(nb, path: Path, views_dir: Path, timeout: int = CELL_TIMEOUT) -> dict[int, list]:
    """Run ``nb`` up to its last attention view and save every view as a page in ``views_dir``.

    Returns, per index of a cell that shows a view, its new outputs: the views as iframes
    (``views/NAME.html``) and anything else the cell printed.
    """
    view_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                  and any(is_view_output(o) for o in c.get("outputs", []))]
    if not view_cells:
        return {}
    views_dir.mkdir(parents=True, exist_ok=True)
    kept = [i for i in range(view_cells[-1] + 1) if nb.cells[i].cell_type == "code" and not is_solution(nb.cells[i])]
    run = nbformat.v4.new_notebook(metadata=copy.deepcopy(nb.metadata))
    run.cells = [nbformat.v4.new_code_cell(nb.cells[i].source, metadata=copy.deepcopy(nb.cells[i].metadata))
                 for i in kept]
    print(f"{path.name}: running cells 0-{view_cells[-1]} to draw {len(view_cells)} attention views", flush=True)
    previous = os.environ.get(VIEWS_DIR_VARIABLE)
    os.environ[VIEWS_DIR_VARIABLE] = str(views_dir.resolve())  # the kernel saves each view there
    try:
        execute(run, path, timeout=timeout, indices=kept)
    finally:
        if previous is None:
            os.environ.pop(VIEWS_DIR_VARIABLE, None)
        else:
            os.environ[VIEWS_DIR_VARIABLE] = previous
    new = {}
    for position, i in enumerate(kept):
        if i not in view_cells:
            continue
        outputs = []
        for output in run.cells[position].outputs:
            view = view_of(output)
            if view is None or "page" not in view:
                outputs.append(output)
                continue
            fixed, per_token = VIEW_HEIGHT[view["kind"]]
            name, label = html.escape(view["page"]), html.escape(_output_text(output))
            frame = (f'<iframe class="attention-view" src="views/{name}" '
                     f'style="height:{fixed + per_token * int(view["tokens"])}px" title="{label}"></iframe>'
                     f'<div class="classroom-note">{label}: '
                     f'<a href="views/{name}">open the view on its own page</a></div>')
            outputs.append(nbformat.v4.new_output("display_data", data={"text/html": frame}))
        stored = [_described(view_of(o)) for o in nb.cells[i].outputs if is_view_output(o)]
        drawn = [_described(view_of(o)) for o in run.cells[position].outputs if is_view_output(o)]
        if stored != drawn:
            print(f"warning: {path.name} cell {i}: the stored views were {stored}, the run drew {drawn}; "
                  "re-execute the notebook", file=sys.stderr)
        new[i] = outputs
    return new


def _described(view: dict) -> tuple[str, int]:
    return view["kind"], int(view["tokens"])


def _kernel_note(what: str) -> dict:
    return nbformat.v4.new_output("display_data", data={
        "text/html": f'<div class="classroom-note">{what} needs a running kernel: open the notebook in '
                     "JupyterLab to use it.</div>",
        "text/plain": f"({what} needs a running kernel)"})


def for_html(nb, view_outputs: dict[int, list]):
    """A copy of ``nb`` for a page with no kernel: views from ``view_outputs``, other widgets as a note."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)  # no widget manager (it would come from a CDN)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if i in view_outputs:
            cell.outputs = view_outputs[i]
            continue
        outputs = []
        for output in cell.get("outputs", []):
            if WIDGET_MIME not in output.get("data", {}):
                outputs.append(output)
            elif is_view_output(output):
                outputs.append(_kernel_note("This attention view"))
            else:
                outputs.append(_kernel_note("This interactive control"))
        cell.outputs = outputs
    return nb


# ----------------------------------------------------------------------------- decks and the site

@dataclass
class Chapter:
    path: Path
    nb: object
    title: str

    @property
    def page(self) -> str:
        return f"{self.path.stem}.html"

    @property
    def deck(self) -> str:
        return f"{self.path.stem}.slides.html"


def _chapters(folder: Path) -> list[Chapter]:
    chapters = []
    for path in notebook_paths(folder):
        nb = nbformat.read(path, as_version=4)
        chapters.append(Chapter(path, nb, title_of(nb, path.stem)))
    return chapters


def _exporter(kind: str, urls: dict[str, str]):
    from nbconvert import HTMLExporter, SlidesExporter

    if kind == "slides":
        # "white": its fonts ship with reveal.js (the default "simple" theme fetches Google fonts)
        exporter = SlidesExporter(template_name="classroom_slides", extra_template_basedirs=[str(TEMPLATES)],
                                  reveal_url_prefix=urls["reveal_url_prefix"], reveal_theme="white")
    else:
        exporter = HTMLExporter(template_name="classroom_site", extra_template_basedirs=[str(TEMPLATES)])
    exporter.exclude_input_prompt = exporter.exclude_output_prompt = kind == "slides"
    return exporter


def cmd_slides(folder: Path, out: Path, views: bool = True) -> list[Path]:
    """Write one offline reveal.js deck per notebook into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    urls = copy_static(out, reveal=True)
    exporter, written = _exporter("slides", urls), []
    for chapter in _chapters(folder):
        nb = chapter.nb
        missing = [i for i, c in enumerate(nb.cells) if "slide_type" not in c.metadata.get("slideshow", {})]
        if missing:
            raise ClassroomError(f"{chapter.path.name}: cells {missing[:5]}... have no slide metadata; "
                                 f"run `python tools/classroom.py tag --notebooks {folder}` first")
        rendered = render_views(nb, chapter.path, out / "views") if views else {}
        deck = for_html(nb, rendered)
        deck.cells = [c for c in deck.cells if not (is_solution(c) or is_solution_label(c))]
        body, _ = exporter.from_notebook_node(deck, resources={
            "metadata": {"name": chapter.title}, "classroom": urls})
        (out / chapter.deck).write_text(body, encoding="utf-8")
        written.append(out / chapter.deck)
        print(f"{out / chapter.deck}: {slide_count(nb)} slides")
    return written


def _intro(nb) -> str:
    """The first paragraph of the title cell, as HTML, for the index."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    text = nb.cells[0].source.split("\n\n")[1] if nb.cells and "\n\n" in nb.cells[0].source else ""
    return markdown2html_mistune(" ".join(text.split()))


def cmd_site(folder: Path, out: Path, views: bool = True) -> list[Path]:
    """Write ``index.html`` and one page per notebook into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    urls = copy_static(out, reveal=False)
    exporter, chapters = _exporter("site", urls), _chapters(folder)
    written = []
    for k, chapter in enumerate(chapters):
        rendered = render_views(chapter.nb, chapter.path, out / "views") if views else {}
        neighbours = {
            "previous": {"href": chapters[k - 1].page, "title": chapters[k - 1].title} if k else None,
            "next": {"href": chapters[k + 1].page, "title": chapters[k + 1].title} if k + 1 < len(chapters) else None,
        }
        body, _ = exporter.from_notebook_node(for_html(chapter.nb, rendered), resources={
            "metadata": {"name": chapter.title}, "classroom": {**urls, **neighbours}})
        (out / chapter.page).write_text(body, encoding="utf-8")
        written.append(out / chapter.page)
        print(f"{out / chapter.page}")
    items = "\n".join(
        f'<li><a href="{c.page}">{html.escape(c.title)}</a>{_intro(c.nb)}</li>' for c in chapters)
    (out / "index.html").write_text(
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1.0">\n'
        "<title>Prompt learning with masked language models</title>\n"
        "<style>body{font-family:system-ui,sans-serif;max-width:52em;margin:2em auto;padding:0 1em;line-height:1.5}"
        "li{margin-bottom:1em}li p{margin:.2em 0;color:#444}</style></head>\n<body>\n"
        "<h1>Prompt learning with masked language models</h1>\n"
        "<p>The chapters with their stored outputs, readable without a kernel. To run the code, change the "
        "parameters or answer the exercises, open the notebooks in JupyterLab.</p>\n"
        f"<ol>\n{items}\n</ol>\n</body></html>\n", encoding="utf-8")
    written.insert(0, out / "index.html")
    print(out / "index.html")
    return written


# ----------------------------------------------------------------------------- command line

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/classroom.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--notebooks", type=Path, default=NOTEBOOKS,
                        help="folder of the notebooks (default: notebooks/)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("times", help="seconds each section's code took in the stored run")
    tag = commands.add_parser("tag", help="write slide metadata into the notebooks (idempotent)")
    tag.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook is not up to date")
    for name, text in [("slides", "one offline reveal.js deck per notebook"),
                       ("student", "copies without the solution cells"),
                       ("site", "index.html and one page per notebook, readable offline")]:
        command = commands.add_parser(name, help=text)
        command.add_argument("out", type=Path, help="output folder (created if missing)")
        if name != "student":
            command.add_argument("--no-views", dest="views", action="store_false",
                                 help="do not run the notebooks to draw the attention views; leave a note instead")
    run = commands.add_parser("run", help="execute the notebooks with parameters changed, into OUT")
    run.add_argument("out", type=Path, help="output folder for the executed copies")
    run.add_argument("--set", dest="assignments", action="append", default=[], metavar="NAME=VALUE",
                     help="override a parameter, e.g. --set MODEL='\"bert-base-uncased\"' --set DEVICE='\"cuda\"'")
    run.add_argument("--only", nargs="+", default=[], metavar="NN", help="only these notebooks, e.g. --only 01 04")
    run.add_argument("--timeout", type=int, default=3600,
                     help="seconds a cell may take at least (default 3600; more for a cell whose stored run was "
                          "long or that is tagged 'training')")
    args = parser.parse_args(argv)
    try:
        if args.command == "tag":
            return cmd_tag(args.notebooks, args.check)
        if args.command == "times":
            cmd_times(args.notebooks)
            return 0
        if args.command == "run":
            return cmd_run(args.notebooks, args.out, args.assignments, args.only, args.timeout)
        if args.command == "student":
            cmd_student(args.notebooks, args.out)
        elif args.command == "slides":
            cmd_slides(args.notebooks, args.out, args.views)
        else:
            cmd_site(args.notebooks, args.out, args.views)
    except ClassroomError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
