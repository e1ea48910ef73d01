"""tools/classroom.py: slide metadata, decks, student copies and the site, on small notebooks
built by the test and on the real series (built once into a temporary folder)."""

from __future__ import annotations

import re
import sys
import time
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import classroom  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CHECK_CALL = re.compile(r"\bcheck\(\s*[\"'](\d\d\.\d+)[\"']")


def solution(cell):
    cell.metadata["tags"] = ["solution"]
    cell.metadata["jupyter"] = {"source_hidden": True}
    return cell


def small_notebook():
    long_code = "\n".join(f"x{i} = {i}" for i in range(12))
    cells = [
        new_markdown_cell("# 9. A title\n\nWhat this is about."),
        new_markdown_cell("## 9.1 A short section"),
        new_code_cell("print(1)", outputs=[new_output("stream", name="stdout", text="1\n")]),
        new_markdown_cell("Prose after the code."),
        new_markdown_cell("Text before.\n\n## 9.2 A long section"),
        new_code_cell(long_code, outputs=[new_output("stream", name="stdout", text="a\n" * 6)]),
        new_code_cell(long_code),
        new_markdown_cell("## Summary\n- done\n\n## Exercises\n1. Do it."),
        new_code_cell("answer = None", outputs=[new_output("stream", name="stdout", text="stored\n")]),
        new_markdown_cell("**Solution 1**"),
        solution(new_code_cell("answer = 1", outputs=[new_output("stream", name="stdout", text="right\n")])),
    ]
    return new_notebook(cells=cells)


# ----------------------------------------------------------------------------- slide metadata

def test_slide_types_follow_headings_length_and_solutions():
    types = classroom.slide_types(small_notebook())
    assert types == ["slide", "slide", "-", "fragment", "slide", "-", "subslide", "slide", "-", "skip", "skip"]


def test_tagging_is_idempotent_and_check_reports_stale_notebooks(tmp_path, capsys):
    nbformat.write(small_notebook(), tmp_path / "09_small.ipynb")
    assert classroom.main(["--notebooks", str(tmp_path), "tag", "--check"]) == 1
    assert classroom.main(["--notebooks", str(tmp_path), "tag"]) == 0
    first = (tmp_path / "09_small.ipynb").read_bytes()
    assert classroom.main(["--notebooks", str(tmp_path), "tag", "--check"]) == 0
    assert classroom.main(["--notebooks", str(tmp_path), "tag"]) == 0
    assert (tmp_path / "09_small.ipynb").read_bytes() == first
    nb = nbformat.read(tmp_path / "09_small.ipynb", as_version=4)
    assert classroom.slide_count(nb) >= classroom.headings(nb) == 5
    assert nb.metadata["rise"]["scroll"] is True


def test_section_times_add_up_each_sections_stored_run_and_leave_out_solutions():
    nb = small_notebook()

    def ran(cell, start, end):
        cell.metadata["execution"] = {"iopub.execute_input": f"2026-11-23T10:00:{start:06.3f}Z",
                                      "shell.execute_reply": f"2026-11-23T10:00:{end:06.3f}Z"}
    ran(nb.cells[2], 1, 3.5)
    ran(nb.cells[5], 4, 5)
    ran(nb.cells[6], 5, 9)
    ran(nb.cells[10], 10, 40)  # a solution: not part of the lesson's run time
    times = {heading: seconds for heading, seconds, _ in classroom.section_times(nb)}
    assert times == {"9. A title": 0.0, "9.1 A short section": 2.5, "9.2 A long section": 5.0,
                     "Summary": 0.0, "Exercises": 0.0}


# ----------------------------------------------------------------------------- student copies

def test_student_copy_drops_solutions_and_clears_only_the_exercises():
    nb = small_notebook()
    copy = classroom.student_copy(nb)
    assert len(copy.cells) == len(nb.cells) - 2
    assert not any(classroom.is_solution(c) for c in copy.cells)
    assert copy.cells[2].outputs, "outputs outside the exercises stay"
    assert copy.cells[-1].source == "answer = None" and copy.cells[-1].outputs == []
    assert len(nb.cells[8].outputs) == 1, "the original is not changed"


def test_a_hidden_cell_without_the_solution_tag_is_refused():
    nb = small_notebook()
    nb.cells[10].metadata["tags"] = []
    with pytest.raises(classroom.ClassroomError, match="tag them 'solution'"):
        classroom.student_copy(nb, "09_small.ipynb")


def test_pages_without_a_kernel_replace_widgets_with_a_note():
    nb = small_notebook()
    nb.metadata["widgets"] = {"state": {}}
    widget = {"application/vnd.jupyter.widget-view+json": {"model_id": "x"}}
    nb.cells[2].outputs = [new_output("display_data", data={**widget, "text/plain": "Text(value='')"}),
                           new_output("display_data", data={**widget, "text/plain": "<head_view of 9 tokens: a b>"},
                                      metadata={classroom.VIEW_METADATA: {"kind": "head_view", "tokens": 9}})]
    page = classroom.for_html(nb, {})
    assert "widgets" not in page.metadata
    notes = [o.data["text/plain"] for o in page.cells[2].outputs]
    assert notes == ["(This interactive control needs a running kernel)",
                     "(This attention view needs a running kernel)"]


# ----------------------------------------------------------------------------- the real series

@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Decks (without drawing the views), student copies and the site (with them) of the real notebooks."""
    out = tmp_path_factory.mktemp("classroom")
    classroom.cmd_slides(ROOT / "notebooks", out / "slides", views=False)
    classroom.cmd_student(ROOT / "notebooks", out / "student")
    classroom.cmd_site(ROOT / "notebooks", out / "site", views=True)
    return out


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.refs.append((tag, name, value))


def local_refs_resolve(page: Path) -> list[str]:
    """Problems: a script, style, image or frame loaded from the network, or a local file that is missing."""
    parser = Links()
    parser.feed(page.read_text(encoding="utf-8"))
    problems = []
    for tag, _, value in parser.refs:
        if value.startswith(("data:", "#")):
            continue
        if re.match(r"[a-z]+://", value):
            if tag != "a":  # links to papers are fine; anything the page loads is not
                problems.append(f"{tag} loads {value}")
            continue
        if not (page.parent / value.split("?")[0].split("#")[0]).exists():
            problems.append(f"{tag} points at missing {value}")
    return problems


@pytest.mark.slow
def test_one_offline_deck_per_notebook(built):
    decks = sorted((built / "slides").glob("*.slides.html"))
    assert [d.name.removesuffix(".slides.html") for d in decks] == [n.stem for n in NOTEBOOKS]
    for deck in decks:
        assert local_refs_resolve(deck) == [], deck.name
        assert "require.js" not in deck.read_text(encoding="utf-8")


@pytest.mark.slow
def test_student_copies_have_no_solutions_and_the_first_runs(built):
    copies = sorted((built / "student").glob("*.ipynb"))
    assert [c.name for c in copies] == [n.name for n in NOTEBOOKS]
    for original, copy in zip(NOTEBOOKS, copies):
        assert any(classroom.is_solution(c) for c in nbformat.read(original, as_version=4).cells), original.name
        assert not any(classroom.is_solution(c) for c in nbformat.read(copy, as_version=4).cells)
    from nbclient import NotebookClient

    first = nbformat.read(copies[0], as_version=4)
    NotebookClient(first, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(copies[0].parent)}}).execute()
    errors = [o for c in first.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []


@pytest.mark.slow
def test_the_site_has_an_index_and_a_page_per_notebook_with_working_links(built):
    site = built / "site"
    pages = sorted(p.name for p in site.glob("*.html"))
    assert pages == sorted(["index.html"] + [f"{n.stem}.html" for n in NOTEBOOKS])
    for page in pages:
        assert local_refs_resolve(site / page) == [], page
    first = (site / f"{NOTEBOOKS[0].stem}.html").read_text(encoding="utf-8")
    assert f'href="{NOTEBOOKS[1].stem}.html"' in first and 'href="index.html"' in first
    assert "application/vnd.jupyter.widget-view+json" not in first


@pytest.mark.slow
def test_attention_views_are_standalone_pages_in_the_site(built):
    with_views = [n for n in NOTEBOOKS if any(classroom.is_view_output(o) for c in nbformat.read(n, 4).cells
                                              for o in c.get("outputs", []))]
    assert with_views, "notebook 1 shows a head view"
    for notebook in with_views:
        page = (built / "site" / f"{notebook.stem}.html").read_text(encoding="utf-8")
        frames = re.findall(r'<iframe class="attention-view" src="(views/[^"]+)"', page)
        assert frames and all((built / "site" / f).stat().st_size > 100_000 for f in frames)


# -------------------- the stored notebooks: these pass once the slide metadata and checks are in them

@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_notebook_has_a_slide_per_heading_at_least(path):
    nb = nbformat.read(path, as_version=4)
    untagged = [i for i, c in enumerate(nb.cells) if "slide_type" not in c.metadata.get("slideshow", {})]
    assert untagged == [], f"cells {untagged} of {path.name} have no slide type: run `python tools/classroom.py tag`"
    assert classroom.slide_count(nb) >= classroom.headings(nb)
    assert all(c.metadata.slideshow.slide_type == "skip" for c in nb.cells if classroom.is_solution(c))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_notebook_has_two_self_checks_outside_the_solutions(path):
    from helpers.exercises import EXERCISES

    nb = nbformat.read(path, as_version=4)
    number = path.name[:2]
    learner = [(c, i) for c in nb.cells if c.cell_type == "code" and not classroom.is_solution(c)
               for i in CHECK_CALL.findall(c.source)]
    assert len(learner) >= 2, f"{path.name} has {len(learner)} check( calls outside its solutions"
    for cell, exercise_id in learner:
        assert exercise_id in EXERCISES and exercise_id.startswith(number + ".")
        printed = "".join(o.get("text", "") for o in cell.outputs)
        assert f"{exercise_id}: not answered yet" in printed, "the stored notebook shows the unanswered state"
    solved = {i: c for c in nb.cells if classroom.is_solution(c) for i in CHECK_CALL.findall(c.source)}
    for _, exercise_id in learner:
        assert exercise_id in solved, f"no solution cell runs check({exercise_id!r}, ...)"
        assert f"{exercise_id}: right" in "".join(o.get("text", "") for o in solved[exercise_id].outputs)


def test_jupyterlab_rise_is_a_pinned_dependency():
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(re.fullmatch(r"jupyterlab-rise==[\d.]+", d) for d in dependencies)


def test_run_overrides_a_parameter_and_reports_cells_that_raise(tmp_path, capsys):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    parameters = new_code_cell("X = 1\nNAME = 'a'")
    parameters.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[parameters, new_code_cell("print(X * 10, NAME)"), new_code_cell("assert X == 1, X")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / "09_run.ipynb")
    code = classroom.main(["--notebooks", str(folder), "run", str(tmp_path / "out"), "--set", "X=2",
                           "--set", "NAME='b'"])
    ran = nbformat.read(tmp_path / "out" / "09_run.ipynb", as_version=4)
    assert code == 1 and "1 cells raised" in capsys.readouterr().out
    assert ran.cells[1].metadata["tags"] == ["injected-parameters"]
    assert ran.cells[2].outputs[0].text == "20 b\n"
    assert ran.cells[3].outputs[0].ename == "AssertionError"
    assert len(nbformat.read(folder / "09_run.ipynb", as_version=4).cells) == 3, "the stored notebook is untouched"
    with pytest.raises(classroom.ClassroomError, match="parameters are NAME, X"):
        classroom.cmd_run(folder, tmp_path / "out", ["Y=3"])
    with pytest.raises(classroom.ClassroomError, match="quote strings"):
        classroom.cmd_run(folder, tmp_path / "out", ["NAME=b"])


def test_the_view_contract_names_are_those_of_helpers():
    import helpers.attention_views as views

    assert (classroom.VIEW_METADATA, classroom.VIEWS_DIR_VARIABLE) == (views.VIEW_METADATA, views.VIEWS_DIR_VARIABLE)
    stored = [o for path in NOTEBOOKS for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"
              for o in c.outputs if classroom.WIDGET_MIME in o.get("data", {})
              and str(o.get("data", {}).get("text/plain", "")).startswith(("<head_view", "<model_view",
                                                                           "<neuron_view"))]
    assert stored and all(classroom.is_view_output(o) for o in stored), "re-execute the notebooks with views"


def test_a_cells_timeout_grows_with_its_stored_run_and_the_training_tag():
    quick, slow, training = new_code_cell("1"), new_code_cell("2"), new_code_cell("3")
    slow.metadata["execution"] = {"iopub.execute_input": "2026-01-01T00:00:00.000Z",
                                  "shell.execute_reply": "2026-01-01T00:02:00.000Z"}
    training.metadata["tags"] = [classroom.TRAINING_TAG]
    assert classroom.cell_timeout(quick) == classroom.CELL_TIMEOUT
    assert classroom.cell_timeout(quick, floor=5) == 5
    assert classroom.cell_timeout(slow, floor=5) == 10 * 120 + 1
    assert classroom.cell_timeout(training, floor=5) == classroom.TRAINING_TIMEOUT


@pytest.mark.slow
def test_a_stalled_cell_ends_the_run_with_an_error_naming_the_notebook_and_cell(tmp_path):
    nb = new_notebook(cells=[new_code_cell("x = 1"), new_code_cell("import time\ntime.sleep(60)")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    start = time.monotonic()
    with pytest.raises(classroom.ClassroomError, match=r"09_stall\.ipynb: cell 7 \('import time'\) did not finish "
                                                       r"within 3 s"):
        classroom.execute(nb, tmp_path / "09_stall.ipynb", timeout=3, indices=[4, 7])
    assert time.monotonic() - start < 50
