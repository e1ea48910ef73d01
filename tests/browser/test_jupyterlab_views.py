"""In JupyterLab, in real headless Chromium, with no request leaving the machine: the
attention views draw every token and an ipywidgets control updates its output.

JupyterLab runs on a free loopback port with a throwaway token and a throwaway settings
folder; a small notebook is written for the test, run with "Run All Cells", and read back
from the page. Screenshots go to tests/browser/artifacts/: the notebook with the head view
(jupyterlab_attention_views.png) and the opened neuron view (neuron_view_expanded.png).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from chromium import RequestLog, launch
from chromium import jupyterlab as jupyterlab_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
TEXT = "the capital of france is [MASK]."
WIDGET_INPUT = "he drove his [MASK] to work."
CELLS = [
    "from helpers import MaskScorer, load_mlm\n"
    "from helpers.attention_views import head_view, model_view, neuron_view\n"
    "model, tokenizer = load_mlm()\n"
    f"TEXT = {TEXT!r}",
    "head_view(model, tokenizer, TEXT)",
    "model_view(model, tokenizer, TEXT, layers=[0, 5])",
    "neuron_view(model, tokenizer, TEXT, layer=5, head=0)",
    "import ipywidgets as widgets\n"
    "scorer = MaskScorer(model, tokenizer)\n"
    "sentence = widgets.Text(value='', placeholder='a sentence with [MASK]', continuous_update=False)\n"
    "answer = widgets.Label(value='waiting for a sentence')\n"
    "def fill(change):\n"
    "    answer.value = 'top-1: ' + scorer.top_k(change['new'], k=1)[0][0][0]\n"
    "sentence.observe(fill, names='value')\n"
    "widgets.VBox([sentence, answer])",
]


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory, chromium_required):
    """A JupyterLab server on loopback serving a folder with the test notebook; yields its URL."""
    root = tmp_path_factory.mktemp("lab")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, root / "views.ipynb")
    with jupyterlab_server(root) as (base, token):
        yield f"{base}/lab/tree/views.ipynb?token={token}"


@pytest.fixture(scope="module")
def expected():
    """Tokens and the widget's expected answer, computed in this process with the same model."""
    from helpers import MaskScorer, load_mlm

    model, tokenizer = load_mlm()
    tokens = tokenizer.convert_ids_to_tokens(tokenizer(TEXT)["input_ids"])
    return tokens, MaskScorer(model, tokenizer).top_k(WIDGET_INPUT, k=1)[0][0][0]


def _rendered_texts(page, selector: str) -> list[str]:
    return page.locator(selector).evaluate_all("nodes => nodes.map(n => n.textContent)")


def test_views_draw_every_token_offline_and_the_widget_answers(jupyterlab, expected):
    from playwright.sync_api import sync_playwright

    tokens, top_word = expected
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = launch(p)
        context = browser.new_context(viewport={"width": 1280, "height": 1600}, service_workers="block")
        log = RequestLog(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            page.goto(jupyterlab)
            page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=120_000)
            page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=120_000)
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.locator("[data-command='runmenu:run-all']").click()

            head = "[id^='promptlab-head-view']"
            error = "[data-mime-type='application/vnd.jupyter.error']"
            page.locator(f"{head} #left text, {error}").first.wait_for(state="attached", timeout=180_000)
            assert page.locator(error).count() == 0, page.locator(error).first.inner_text()
            assert _rendered_texts(page, f"{head} #left text") == tokens
            assert _rendered_texts(page, f"{head} #right text") == tokens
            assert page.locator(f"{head} #attention line").count() == 12 * len(tokens) ** 2
            # hovering over [MASK] leaves only its lines: one per head to every token (d3 events work)
            page.locator(f"{head} #left text").nth(tokens.index("[MASK]")).hover()
            assert page.locator(f"{head} #attention line[visibility='visible']").count() == 12 * len(tokens)

            model = "[id^='promptlab-model-view']"
            page.locator(f"{model} svg line").first.wait_for(state="attached", timeout=60_000)
            assert page.locator(f"{model} svg line").count() == 2 * 12 * len(tokens) ** 2

            neuron = "[id^='promptlab-neuron-view']"
            page.locator(f"{neuron} #collapsed #leftText text").first.wait_for(state="attached", timeout=60_000)
            assert _rendered_texts(page, f"{neuron} #collapsed #leftText text") == tokens
            # hover over [MASK] and click the plus sign beside it: the query/key computation opens
            mask_token = page.locator(f"{neuron} #collapsed #leftText text").nth(tokens.index("[MASK]"))
            mask_token.hover()
            page.locator(f"{neuron} #collapsed #leftText g").nth(tokens.index("[MASK]")).locator("rect").last.click(
                force=True)
            assert page.locator(f"{neuron} #expanded").get_attribute("visibility") == "visible"
            assert page.locator(f"{neuron} #queries rect").count() >= 32 * len(tokens)
            page.locator(neuron).screenshot(path=ARTIFACTS / "neuron_view_expanded.png")

            text_box = page.locator(".widget-text input")
            text_box.wait_for(timeout=60_000)
            answer = page.locator(".widget-label", has_text="top-1:")
            text_box.fill(WIDGET_INPUT)
            text_box.press("Enter")
            answer.wait_for(timeout=60_000)
            assert answer.inner_text() == f"top-1: {top_word}"

            page.locator(head).scroll_into_view_if_needed()
        finally:  # also after a failure: the picture shows what the browser had drawn
            page.screenshot(path=ARTIFACTS / "jupyterlab_attention_views.png")
            browser.close()
    assert not errors, errors
    assert any("/lab" in url for url in log.urls), "the request log saw nothing; the check itself is broken"
    assert log.external == [], f"requests left the machine: {log.external}"
