"""Entities shown in HTML: one sentence, each entity shaded by its type and labelled with it."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

from .decoding import Entity

ENTITY_COLOURS: dict[str, str] = {"PER": "#E69F00", "LOC": "#56B4E9", "ORG": "#009E73", "MISC": "#CC79A7"}  # Okabe-Ito


def highlight(tokens: Sequence[str], entities: Sequence[Entity], gold: Sequence[Entity] | None = None,
              colours: Mapping[str, str] | None = None) -> str:
    """HTML for one sentence with its entities shaded by type and labelled with it; with
    ``gold``, an entity not in gold (wrong span or type) gets a dashed border, so the mark
    does not rely on colour. ``entities``: (start, end, type) tuples, e.g. ``entities_from_bio``."""
    tokens, colours = list(tokens), {**ENTITY_COLOURS, **(colours or {})}
    starts = {start: (end, kind) for start, end, kind in entities}
    gold_set = None if gold is None else set(gold)
    out, i = [], 0
    while i < len(tokens):
        if i in starts:
            end, kind = starts[i]
            border = "" if gold_set is None or (i, end, kind) in gold_set else "border:2px dashed #000;"
            out.append(f'<span style="background:{colours.get(kind, "#cccccc")};{border}padding:1px 3px">'
                       f'{html.escape(" ".join(tokens[i:end]))} <sub>{html.escape(kind)}</sub></span>')
            i = end
        else:
            out.append(html.escape(tokens[i]))
            i += 1
    return " ".join(out)
