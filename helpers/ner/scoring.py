"""CoNLL evaluation: entities read from IOB2 tags, and entity-level precision, recall and F1
(exact span and type, as conlleval)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .decoding import Entity


def entities_from_bio(tags: Sequence[str]) -> list[Entity]:
    """Read entities from IOB2 tags; like conlleval, an I- tag that does not continue starts one."""
    entities: list[Entity] = []
    start, kind = None, None
    for i, tag in enumerate(list(tags) + ["O"]):
        prefix, _, label = tag.partition("-")
        continues = prefix == "I" and start is not None and label == kind
        if start is not None and not continues:
            entities.append((start, i, kind))
            start, kind = None, None
        if prefix == "B" or (prefix == "I" and not continues):
            start, kind = i, label
    return entities


def entity_prf(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict[str, dict[str, float]]:
    """Entity-level precision, recall, F1 (exact span and type) per type and micro-averaged."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold sentences but {len(predicted)} predicted")
    gold_set = {(s, *e) for s, tags in enumerate(gold) for e in entities_from_bio(tags)}
    pred_set = {(s, *e) for s, tags in enumerate(predicted) for e in entities_from_bio(tags)}
    types = sorted({e[3] for e in gold_set | pred_set})
    out = {}
    for kind in types + ["micro"]:
        g = {e for e in gold_set if kind in ("micro", e[3])}
        p = {e for e in pred_set if kind in ("micro", e[3])}
        tp = len(g & p)
        precision = tp / len(p) if p else 0.0
        recall = tp / len(g) if g else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[kind] = {"precision": precision, "recall": recall, "f1": f1, "gold": len(g), "predicted": len(p)}
    return out
