"""How long the attention views take to draw in headless Chromium as the text grows.

    python bench/attention_views.py           # 16 to 128 tokens
    python bench/attention_views.py --quick   # 16 to 64 tokens

Each view is saved as a standalone page (``AttentionView.save``) and opened in Debian's
Chromium (``apt-get install chromium``); the time runs from opening the page to the first
frame after the view has drawn. The size limit ``helpers.attention_views.MAX_DRAWN_SHAPES``
is lifted here so that the table shows what lies beyond it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

import helpers.attention_views as views
from helpers import load_mlm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
from chromium import launch  # noqa: E402

WORDS = "the film was long but the acting kept me watching until the very last scene of it".split()
DRAWN = ".promptlab-attention-view svg"


def main() -> None:
    """Print one row per (view, text length)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    lengths = (16, 32, 64) if args.quick else (16, 32, 64, 96, 128)
    model, tokenizer = load_mlm(args.model, device="cpu")
    limit, views.MAX_DRAWN_SHAPES = views.MAX_DRAWN_SHAPES, 10**9
    print(f"model {model.config.name_or_path}: {model.config.num_hidden_layers} layers x "
          f"{model.config.num_attention_heads} heads; limit MAX_DRAWN_SHAPES = {limit:,}")
    header = f"{'view':<13}{'tokens':>7}{'SVG elements':>14}{'page MB':>9}{'draw s':>8}  within limit"
    print(header)
    print("-" * len(header))
    with sync_playwright() as p, tempfile.TemporaryDirectory() as folder:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        for n in lengths:
            text = " ".join((WORDS * 10)[: n - 2])  # [CLS] and [SEP] make n
            for view in (views.head_view, views.model_view, views.neuron_view):
                shown = view(model, tokenizer, text)
                path = shown.save(Path(folder) / "view.html")
                start = time.perf_counter()
                page.goto(path.as_uri())
                page.locator(f"{DRAWN} text").first.wait_for(state="attached", timeout=300_000)
                page.evaluate("() => new Promise(done => requestAnimationFrame(() => done()))")
                seconds = time.perf_counter() - start
                elements = page.evaluate(f"() => document.querySelectorAll('{DRAWN} *').length")
                views.MAX_DRAWN_SHAPES = limit
                try:
                    view(model, tokenizer, text)
                    within = "yes"
                except ValueError:
                    within = "no: refused"
                views.MAX_DRAWN_SHAPES = 10**9
                print(f"{view.__name__:<13}{len(shown.tokens):>7}{elements:>14,}"
                      f"{path.stat().st_size / 1e6:>9.2f}{seconds:>8.2f}  {within}", flush=True)
        browser.close()


if __name__ == "__main__":
    main()
