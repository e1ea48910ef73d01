"""From scored spans to entities and IOB2 tags: greedy non-overlapping decoding (step 4 of
``ZeroShotNER``) and the no-model capitalisation baseline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Entity = tuple[int, int, str]  # (start, end exclusive, type)
NONE_CLASS = "none"


@dataclass(frozen=True)
class ScoredSpan:
    """A candidate span: its best type, that type's probability among the types, and the
    entity score that the threshold is compared with (P(any type) / (k P(none)), or, with
    no none class, the type words' probability mass)."""

    start: int
    end: int
    type: str
    type_prob: float
    score: float


def decode_spans(spans: Sequence[ScoredSpan], threshold: float = 0.0, prefer_longer: float = 1.0) -> list[Entity]:
    """Keep spans whose score reaches ``threshold``; accept them best first, dropping any that
    overlaps an accepted one. For the ranking only, each token beyond the first multiplies
    the score by ``prefer_longer`` (>= 1), so a full name beats its close-scoring parts."""
    if prefer_longer < 1:
        raise ValueError(f"prefer_longer must be at least 1 (1: no preference), not {prefer_longer}")
    bonus = np.log(prefer_longer)

    def rank(span: ScoredSpan) -> tuple:
        return (-(np.log(max(span.score, 1e-300)) + bonus * (span.end - span.start - 1)), span.start, span.end)

    taken: set[int] = set()
    chosen: list[Entity] = []
    for span in sorted(spans, key=rank):
        if span.score < threshold or span.type == NONE_CLASS:
            continue
        positions = set(range(span.start, span.end))
        if positions & taken:
            continue
        taken |= positions
        chosen.append((span.start, span.end, span.type))
    return sorted(chosen)


def bio_from_entities(n_tokens: int, entities: Sequence[Entity]) -> list[str]:
    """Write non-overlapping entities as IOB2 tags."""
    tags = ["O"] * n_tokens
    for start, end, kind in entities:
        if any(t != "O" for t in tags[start:end]):
            raise ValueError(f"entity {(start, end, kind)} overlaps another")
        tags[start] = f"B-{kind}"
        for i in range(start + 1, end):
            tags[i] = f"I-{kind}"
    return tags



def capitalisation_heuristic(tokens: Sequence[str], kind: str) -> list[str]:
    """The no-model baseline: every maximal run of tokens that start with a capital is one
    entity of type ``kind`` (e.g. the commonest type in the training data). IOB2 tags."""
    entities, start = [], None
    for i, token in enumerate(list(tokens) + ["."]):
        if token[:1].isupper() and start is None:
            start = i
        elif not token[:1].isupper() and start is not None:
            entities.append((start, i, kind))
            start = None
    return bio_from_entities(len(tokens), entities)
