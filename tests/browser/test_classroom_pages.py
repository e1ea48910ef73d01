"""In real headless Chromium, with no request leaving the machine: a deck written by
``tools/classroom.py slides`` changes slides on the arrow keys and a page written by
``tools/classroom.py site`` shows its figures and draws its attention view (both from
file://), and jupyterlab-rise presents the notebook as live slides in JupyterLab (loopback).

All use notebook 1, copied to a temporary folder. Screenshots go to tests/browser/artifacts/
(classroom_deck.png, classroom_site_page.png, classroom_rise.png).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from chromium import RequestLog, jupyterlab, launch

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
FIRST = sorted((ROOT / "notebooks").glob("*.ipynb"))[0]


@pytest.fixture(scope="module")
def built(tmp_path_factory, chromium_required):
    """A deck and a site page of notebook 1 (with its attention views drawn), in a temporary folder."""
    sys.path.insert(0, str(ROOT / "tools"))
    import classroom

    root = tmp_path_factory.mktemp("classroom-browser")
    notebooks = root / "notebooks"
    notebooks.mkdir()
    shutil.copy(FIRST, notebooks)
    classroom.cmd_tag(notebooks)  # a no-op when the stored notebook is up to date
    classroom.cmd_slides(notebooks, root / "slides", views=False)
    classroom.cmd_site(notebooks, root / "site", views=True)
    return root


def _open(p, url: str):
    browser = launch(p)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    log = RequestLog(context)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # MathJax 2 probes for web fonts with an about:blank font URL, which always "fails" and never
    # leaves the page; every other failed request (a missing local file) counts.
    page.on("requestfailed", lambda request: None if request.url.startswith("about:")
            else errors.append(f"failed: {request.url}"))
    page.goto(url)
    return browser, page, log, errors


def test_the_deck_moves_to_the_next_slide_on_the_right_arrow(built):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser, page, log, errors = _open(p, (built / "slides" / f"{FIRST.stem}.slides.html").as_uri())
        try:
            page.wait_for_function("window.Reveal && Reveal.isReady()", timeout=30_000)
            total = page.evaluate("Reveal.getTotalSlides()")
            assert page.evaluate("Reveal.getIndices().h") == 0
            first_title = page.locator(".reveal .slides > section.present h1").first.inner_text()
            page.keyboard.press("ArrowRight")
            page.wait_for_function("Reveal.getIndices().h === 1", timeout=10_000)
            title = page.locator(".reveal .slides > section.present h2").first.inner_text()
            page.wait_for_function("window.MathJax && MathJax.isReady", timeout=30_000)
        finally:
            page.screenshot(path=ARTIFACTS / "classroom_deck.png")
            browser.close()
    assert total > 1
    assert title and title != first_title, (first_title, title)
    assert errors == [], errors
    assert any(url.endswith("dist/reveal.js") for url in log.urls), "reveal.js came from somewhere else"
    assert log.external == [], f"requests left the machine: {log.external}"


def test_a_site_page_shows_its_figures_and_draws_the_attention_view(built):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser, page, log, errors = _open(p, (built / "site" / f"{FIRST.stem}.html").as_uri())
        try:
            page.wait_for_load_state("load")
            sizes = page.locator(".jp-OutputArea-output img").evaluate_all(
                "images => images.map(i => [i.naturalWidth, i.naturalHeight])")
            frame = page.frame_locator("iframe.attention-view").first
            tokens = frame.locator("[id^='promptlab-head-view'] #left text")
            tokens.first.wait_for(state="attached", timeout=30_000)
            drawn = tokens.count()
            page.locator("iframe.attention-view").first.scroll_into_view_if_needed()
        finally:
            page.screenshot(path=ARTIFACTS / "classroom_site_page.png")
            browser.close()
    assert sizes and all(w > 0 and h > 0 for w, h in sizes), sizes
    assert drawn >= 5, "the head view drew one label per token"
    assert errors == [], errors
    assert log.external == [], f"requests left the machine: {log.external}"


@pytest.fixture(scope="module")
def lab_with_first_notebook(tmp_path_factory, chromium_required):
    """JupyterLab on a free loopback port serving a copy of notebook 1; yields the notebook's URL."""
    root = tmp_path_factory.mktemp("rise")
    shutil.copy(FIRST, root)
    with jupyterlab(root) as (base, token):
        yield f"{base}/lab/tree/{FIRST.name}?token={token}"


def test_rise_presents_the_notebook_as_live_slides_in_jupyterlab(lab_with_first_notebook):
    """jupyterlab-rise, installed by the project's dependencies, draws the stored slide metadata."""
    import nbformat
    from playwright.sync_api import sync_playwright

    slides = sum(c.metadata.get("slideshow", {}).get("slide_type") == "slide"
                 for c in nbformat.read(FIRST, as_version=4).cells)
    with sync_playwright() as p:
        browser = launch(p)
        context = browser.new_context(viewport={"width": 1400, "height": 900}, service_workers="block")
        log = RequestLog(context)
        page = context.new_page()
        try:
            page.goto(lab_with_first_notebook)
            page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=120_000)
            page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=120_000)
            page.locator(".jp-Notebook .jp-Cell").first.click()
            page.keyboard.press("Escape")
            page.keyboard.press("Alt+r")  # RISE: preview the notebook as slides
            deck = page.frame_locator("iframe[src*='/rise/']")
            deck.locator(".reveal .slides > section").first.wait_for(state="attached", timeout=60_000)
            drawn = deck.locator(".reveal .slides > section").count()
            frame = next(f for f in page.frames if "/rise/" in f.url)
            before = frame.evaluate("location.hash")
            deck.locator(".reveal").first.click()
            frame.page.keyboard.press("ArrowRight")
            frame.wait_for_function(f"location.hash !== {before!r}", timeout=10_000)
        finally:
            page.screenshot(path=ARTIFACTS / "classroom_rise.png")
            browser.close()
    assert drawn == slides
    assert log.external == [], f"requests left the machine: {log.external}"
