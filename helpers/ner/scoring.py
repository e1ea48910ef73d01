"""CoNLL evaluation: entities read from IOB2 tags, and entity-level precision, recall and F1
(exact span and type, as conlleval)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..evaluation import Interval

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


def entity_counts(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> np.ndarray:
    """Per sentence: (correct, predicted, gold) entities, exact span and type; shape (n, 3).

    Summed over the sentences they give ``entity_prf``'s micro scores: F1 = 2 correct /
    (predicted + gold)."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold sentences but {len(predicted)} predicted")
    rows = []
    for g_tags, p_tags in zip(gold, predicted):
        g, p = set(entities_from_bio(g_tags)), set(entities_from_bio(p_tags))
        rows.append((len(g & p), len(p), len(g)))
    return np.array(rows, dtype=float).reshape(-1, 3)


def _f1_of_counts(counts: np.ndarray) -> np.ndarray:
    """Micro F1 of summed counts (..., 3); 0 where nothing is predicted and nothing is gold."""
    denominator = counts[..., 1] + counts[..., 2]
    return np.divide(2 * counts[..., 0], denominator, out=np.zeros_like(denominator), where=denominator > 0)


def _resampled_sums(counts: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).integers(0, len(counts), size=(n_resamples, len(counts)))
    return counts[rows].sum(axis=1)


def _check_bootstrap(n_resamples: int, level: float) -> None:
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")


def bootstrap_entity_f1(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], n_resamples: int = 1000,
                        level: float = 0.95, seed: int = 0) -> Interval:
    """Micro entity F1 with a percentile bootstrap interval over **sentences** (a sentence's
    entities are resampled together, since they are not independent). Seeded."""
    _check_bootstrap(n_resamples, level)
    counts = entity_counts(gold, predicted)
    value = float(_f1_of_counts(counts.sum(axis=0)))
    if len(counts) == 0:
        return Interval(value, value, value, level)
    resampled = _f1_of_counts(_resampled_sums(counts, n_resamples, seed))
    low, high = np.quantile(resampled, [(1 - level) / 2, (1 + level) / 2])
    return Interval(value, float(low), float(high), level)


def compare_entity_f1(gold: Sequence[Sequence[str]], predicted_a: Sequence[Sequence[str]],
                      predicted_b: Sequence[Sequence[str]], n_resamples: int = 1000, level: float = 0.95,
                      seed: int = 0) -> Interval:
    """F1 of A minus F1 of B on the same sentences, with a paired bootstrap interval: both are
    scored on the same resampled sentences, so what they share cancels. An interval that
    contains 0 means the data cannot tell the two apart."""
    _check_bootstrap(n_resamples, level)
    a, b = entity_counts(gold, predicted_a), entity_counts(gold, predicted_b)
    if len(a) != len(b):
        raise ValueError(f"{len(a)} sentences predicted by A but {len(b)} by B: compare them on the same sentences")
    value = float(_f1_of_counts(a.sum(axis=0)) - _f1_of_counts(b.sum(axis=0)))
    if len(a) == 0:
        return Interval(value, value, value, level)
    both = np.concatenate([a, b], axis=1)  # resample the pairs together
    sums = _resampled_sums(both, n_resamples, seed)
    differences = _f1_of_counts(sums[:, :3]) - _f1_of_counts(sums[:, 3:])
    low, high = np.quantile(differences, [(1 - level) / 2, (1 + level) / 2])
    return Interval(value, float(low), float(high), level)
