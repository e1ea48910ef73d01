"""BertViz attention views (head, model, neuron) that render with no network access.

In a notebook a view is a small widget (``attention_widget.js``) that asks the kernel for
the view's script; ``AttentionView.save`` writes the same view as a standalone page.

Every displayed view carries ``{"kind": ..., "tokens": n}`` in its output metadata under
``VIEW_METADATA``. When ``$PROMPTLAB_VIEWS_DIR`` names a folder, a displayed view is instead
saved there as a page (named by its content) and its metadata also gives the page's file name
(``"page"``): how a notebook run without a browser, such as a static site build, keeps its views.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import anywidget
import traitlets
from bertviz.util import format_special_chars

from .attention import attention_for, queries_and_keys_for
from .offline_scripts import view_script

__all__ = ["AttentionView", "MAX_DRAWN_SHAPES", "MAX_NEURON_VIEW_NUMBERS", "VIEW_METADATA", "VIEWS_DIR_VARIABLE",
           "head_view", "model_view", "neuron_view"]

# The output-metadata key of a displayed view, and the variable that names a folder for its pages.
VIEW_METADATA = "promptlab_attention_view"
VIEWS_DIR_VARIABLE = "PROMPTLAB_VIEWS_DIR"

# SVG shapes one view may draw at once; past this the page freezes for seconds
# (bench/attention_views.py measures the drawing time in Chromium).
MAX_DRAWN_SHAPES = 120_000
# Numbers the neuron view carries (all layers and heads: weights, queries, keys), about 7 bytes each.
MAX_NEURON_VIEW_NUMBERS = 2_000_000
# Wide views (model, neuron) scroll sideways instead of being cut off by the output area.
_STYLE = "font-family:'Helvetica Neue', Helvetica, Arial, sans-serif; overflow-x:auto;"
_view_numbers = itertools.count(1)


class _AttentionWidget(anywidget.AnyWidget):
    """Notebook display of one view: the markup is widget state, the script is sent on request."""

    _esm = Path(__file__).with_name("attention_widget.js")
    markup = traitlets.Unicode().tag(sync=True)

    def __init__(self, markup: str, script: str) -> None:
        super().__init__(markup=markup)
        self._script = script
        self.on_msg(self._answer)

    def _answer(self, widget, content: dict, buffers) -> None:
        if content.get("request") == "script":
            self.send({"script": self._script})


@dataclass(frozen=True)
class AttentionView:
    """One attention view: displays itself in a notebook; ``save`` writes a standalone page."""

    kind: str
    tokens: tuple[str, ...]
    params: dict = field(repr=False)
    controls: str = field(repr=False)

    __hash__ = None  # equal views compare equal; the params dict cannot be hashed, so neither can a view

    def __repr__(self) -> str:
        return f"<{self.kind} of {len(self.tokens)} tokens: {' '.join(self.tokens)}>"

    def render(self) -> tuple[str, str]:
        """Return the view's markup and script, with an element id that no other drawing has."""
        root_id = f"promptlab-{self.kind.replace('_', '-')}-{next(_view_numbers)}"
        markup = (f'<div id="{root_id}" class="promptlab-attention-view" style="{_STYLE}">\n'
                  f'<span style="user-select:none">{self.controls}</span>\n<div id="vis"></div>\n</div>\n')
        return markup, view_script(self.kind, {**self.params, "root_div_id": root_id}, root_id)

    @property
    def html(self) -> str:
        """The view as one HTML block: its markup and its self-contained script."""
        markup, script = self.render()
        return f'{markup}<script type="text/javascript">\n{script}</script>\n'

    @property
    def page_name(self) -> str:
        """A file name for the view's page, the same for the same view: ``head_view-<hash>.html``."""
        content = json.dumps([self.kind, self.tokens, self.params, self.controls], sort_keys=True, default=str)
        return f"{self.kind}-{hashlib.sha256(content.encode()).hexdigest()[:16]}.html"

    def _repr_mimebundle_(self, **kwargs) -> tuple[dict, dict]:
        described = {"kind": self.kind, "tokens": len(self.tokens)}
        folder = os.environ.get(VIEWS_DIR_VARIABLE, "").strip()
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            path = self.save(Path(folder) / self.page_name)
            return {"text/plain": repr(self)}, {VIEW_METADATA: {**described, "page": path.name}}
        # A widget rather than text/html: the 0.33 MB of library code travels from the kernel
        # and is not stored in the notebook.
        bundle = _AttentionWidget(*self.render())._repr_mimebundle_(**kwargs)
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
        return {**data, "text/plain": repr(self)}, {**metadata, VIEW_METADATA: described}

    def save(self, path: str | Path) -> Path:
        """Write the view as an HTML page that opens offline in any browser."""
        path = Path(path)
        title = html.escape(f"{self.kind}: {' '.join(self.tokens)}")
        path.write_text(f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{title}</title></head>\n'
                        f"<body>\n{self.html}\n</body></html>\n", encoding="utf-8")
        return path


def _check_size(view: str, shapes: int, detail: str, fix: str) -> None:
    """Refuse a view that would draw more shapes than a browser draws without freezing."""
    if shapes > MAX_DRAWN_SHAPES:
        raise ValueError(
            f"the {view} would draw {shapes:,} shapes ({detail}); past {MAX_DRAWN_SHAPES:,} the page "
            f"stops responding. {fix}"
        )


def _rounded(tensor, decimals: int) -> list:
    """Round for a smaller, reproducible page (the views draw at screen precision)."""
    return tensor.double().round(decimals=decimals).tolist()


def _choose(name: str, chosen: list[int] | None, total: int) -> list[int]:
    """Validate a layer or head subset; None means all of them."""
    if chosen is None:
        return list(range(total))
    bad = [i for i in chosen if not 0 <= i < total]
    if not chosen or bad:
        raise ValueError(f"{name} must be a non-empty list of indices in 0..{total - 1}; got {chosen}")
    return sorted(set(chosen))


def head_view(model, tokenizer, text: str, layer: int | None = None,
              heads: list[int] | None = None) -> AttentionView:
    """BertViz's head view: one layer at a time, each head's attention as lines between tokens."""
    attention, tokens = attention_for(model, tokenizer, text)
    n_layers, n_heads = len(attention), attention[0].shape[1]
    heads = _choose("heads", heads, n_heads)
    layer = n_layers - 1 if layer is None else layer
    if not 0 <= layer < n_layers:
        raise ValueError(f"layer must be in 0..{n_layers - 1}; got {layer}")
    n = len(tokens)
    per_head = n * n + 2 * n  # a line per token pair, a colour box per token on each side
    _check_size("head view", len(heads) * per_head, f"{len(heads)} heads x ({n}x{n} token pairs + 2x{n} boxes)",
                f"Pass heads= with at most {max(1, MAX_DRAWN_SHAPES // per_head)} heads, or a shorter text.")
    weights = [_rounded(a[0, heads], 3) for a in attention]
    params = {"attention": [{"name": None, "attn": weights, "left_text": format_special_chars(tokens),
                             "right_text": format_special_chars(tokens)}],
              "default_filter": "0", "layer": layer, "heads": None, "include_layers": list(range(n_layers))}
    return AttentionView("head_view", tuple(tokens), params, 'Layer: <select id="layer"></select>')


def model_view(model, tokenizer, text: str, layers: list[int] | None = None,
               heads: list[int] | None = None) -> AttentionView:
    """BertViz's model view: a thumbnail of every chosen layer and head; click one to enlarge it."""
    attention, tokens = attention_for(model, tokenizer, text)
    layers = _choose("layers", layers, len(attention))
    heads = _choose("heads", heads, attention[0].shape[1])
    n = len(tokens)
    fits = max(1, MAX_DRAWN_SHAPES // (n * n))
    _check_size("model view", len(layers) * len(heads) * n * n,
                f"{len(layers)} layers x {len(heads)} heads x {n}x{n} token pairs",
                f"Pass layers= and heads= with at most {fits} layer-head pairs in all, or a shorter text.")
    weights = [_rounded(attention[layer][0, heads], 3) for layer in layers]
    params = {"attention": [{"name": None, "attn": weights, "left_text": format_special_chars(tokens),
                             "right_text": format_special_chars(tokens)}],
              "default_filter": "0", "display_mode": "light", "include_layers": layers,
              "include_heads": heads, "total_heads": attention[0].shape[1]}
    return AttentionView("model_view", tuple(tokens), params, "")


def neuron_view(model, tokenizer, text: str, layer: int = 0, head: int = 0) -> AttentionView:
    """BertViz's neuron view: the query and key vectors behind one head's attention, for any BERT checkpoint."""
    attention, tokens = attention_for(model, tokenizer, text)
    queries, keys, _ = queries_and_keys_for(model, tokenizer, text)
    n_layers, n_heads, n, size = queries.shape
    if not (0 <= layer < n_layers and 0 <= head < n_heads):
        raise ValueError(f"layer must be in 0..{n_layers - 1} and head in 0..{n_heads - 1}; got {layer}, {head}")
    # measured with bench/attention_views.py: about 7 shapes per token pair and 4 per vector entry
    _check_size("neuron view", 7 * n * n + 4 * n * size,
                f"7 x {n}x{n} token pairs + 4 x {n} tokens x {size} dimensions",
                "Pass a shorter text.")
    numbers = n_layers * n_heads * (n * n + 2 * n * size)
    if numbers > MAX_NEURON_VIEW_NUMBERS:
        raise ValueError(f"the neuron view would carry {numbers:,} numbers (every layer and head); past "
                         f"{MAX_NEURON_VIEW_NUMBERS:,} the page is too heavy to load. Pass a shorter text.")
    shown = format_special_chars(tokens)
    params = {"attention": {"all": {"attn": [_rounded(a[0], 3) for a in attention],
                                    "queries": _rounded(queries, 2), "keys": _rounded(keys, 2),
                                    "left_text": shown, "right_text": shown}},
              "default_filter": "all", "bidirectional": True, "display_mode": "light",
              "layer": layer, "head": head}
    controls = ('<span class="dropdown-label">Layer: </span><select id="layer"></select>\n'
                '<span class="dropdown-label">Head: </span><select id="att_head"></select>')
    return AttentionView("neuron_view", tuple(tokens), params, controls)
