"""BertViz attention views (head, model, neuron) that render with no network access."""

from __future__ import annotations

import html
import itertools
from dataclasses import dataclass, field
from pathlib import Path

from bertviz.util import format_special_chars

from .attention import attention_for, queries_and_keys_for
from .offline_scripts import view_script

__all__ = ["AttentionView", "MAX_DRAWN_SHAPES", "MAX_NEURON_VIEW_NUMBERS", "head_view", "model_view", "neuron_view"]

# SVG shapes one view may draw at once; past this the page freezes for seconds
# (bench/attention_views.py measures the drawing time in Chromium).
MAX_DRAWN_SHAPES = 120_000
# Numbers the neuron view carries (all layers and heads: weights, queries, keys), about 7 bytes each.
MAX_NEURON_VIEW_NUMBERS = 2_000_000
# Wide views (model, neuron) scroll sideways instead of being cut off by the output area.
_STYLE = "font-family:'Helvetica Neue', Helvetica, Arial, sans-serif; overflow-x:auto;"
_view_numbers = itertools.count(1)


@dataclass(frozen=True)
class AttentionView:
    """One attention view: shows itself in a notebook; ``save`` writes a standalone page."""

    kind: str
    tokens: tuple[str, ...]
    html: str = field(repr=False)

    def __repr__(self) -> str:
        return f"<{self.kind} of {len(self.tokens)} tokens: {' '.join(self.tokens)}>"

    def _repr_html_(self) -> str:
        return self.html

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


def _render(kind: str, tokens: list[str], params: dict, controls: str) -> AttentionView:
    """Put BertViz's script for ``kind`` and its parameters into one self-contained HTML block."""
    root_id = f"promptlab-{kind.replace('_', '-')}-{next(_view_numbers)}"
    params = {**params, "root_div_id": root_id}
    markup = (f'<div id="{root_id}" class="promptlab-attention-view" style="{_STYLE}">\n'
              f'<span style="user-select:none">{controls}</span>\n<div id="vis"></div>\n</div>\n'
              f'<script type="text/javascript">\n{view_script(kind, params, root_id)}</script>\n')
    return AttentionView(kind=kind, tokens=tuple(tokens), html=markup)


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
    return _render("head_view", tokens, params, 'Layer: <select id="layer"></select>')


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
    return _render("model_view", tokens, params, "")


def neuron_view(model, tokenizer, text: str, layer: int = 0, head: int = 0) -> AttentionView:
    """BertViz's neuron view: the query and key vectors behind one head's attention, for any BERT checkpoint."""
    attention, tokens = attention_for(model, tokenizer, text)
    queries, keys, _ = queries_and_keys_for(model, tokenizer, text)
    n_layers, n_heads, n, size = queries.shape
    if not (0 <= layer < n_layers and 0 <= head < n_heads):
        raise ValueError(f"layer must be in 0..{n_layers - 1} and head in 0..{n_heads - 1}; got {layer}, {head}")
    # measured with bench/attention_views.py: about 7 shapes per token pair and 4 per vector entry
    _check_size("neuron view", 7 * n * n + 4 * n * size, f"7 x {n}x{n} token pairs + 4 x {n} tokens x {size} dimensions",
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
    return _render("neuron_view", tokens, params, controls)
