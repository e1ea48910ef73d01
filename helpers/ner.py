"""Zero-shot named-entity recognition with a fill-mask prompt.

Pipeline (``ZeroShotNER.predict``):

1. **candidate spans**: every n-gram of up to ``max_span_len`` tokens that passes a filter.
   ``span_filter="capitalized"`` (default) keeps spans whose first and last tokens start
   with a capital letter (names in English text do); ``"none"`` keeps every n-gram (higher
   recall, many more spans to score).
2. **typing**: all spans of all sentences go through the scorer together, each as
   "<sentence> <span> is a type of [MASK]." scored against the type label words.
3. **entity or not**: a span is an entity when the probability mass that the blank puts on
   all type label words reaches ``threshold`` (choose it on validation data, never on test);
   with ``none_words``, a span whose most likely class is the none class is dropped too.
4. **decoding**: spans sorted by score, highest first; a span overlapping an accepted one is
   dropped; the result is written as BIO tags with only the types asked for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .scorer import MaskScorer
from .template import Template
from .verbalizer import Verbalizer

__all__ = [
    "SPAN_FILTERS",
    "ScoredSpan",
    "ZeroShotNER",
    "candidate_spans",
    "decode_spans",
    "entities_from_bio",
    "bio_from_entities",
    "entity_prf",
]

SPAN_FILTERS = ("capitalized", "none")
NONE_CLASS = "none"
Entity = tuple[int, int, str]  # (start, end exclusive, type)


def _capitalized(token: str) -> bool:
    return token[:1].isupper()


def candidate_spans(tokens: Sequence[str], max_span_len: int, span_filter: str = "capitalized") -> list[tuple[int, int]]:
    """Every (start, end) n-gram of up to ``max_span_len`` tokens that passes ``span_filter``."""
    if span_filter not in SPAN_FILTERS:
        raise ValueError(f"span_filter must be one of {SPAN_FILTERS}, not {span_filter!r}")
    if max_span_len < 1:
        raise ValueError("max_span_len must be at least 1")
    spans = []
    for start in range(len(tokens)):
        for end in range(start + 1, min(len(tokens), start + max_span_len) + 1):
            if span_filter == "none" or (_capitalized(tokens[start]) and _capitalized(tokens[end - 1])):
                spans.append((start, end))
    return spans


@dataclass(frozen=True)
class ScoredSpan:
    """A candidate span with its best type, that type's probability and the type-word mass."""

    start: int
    end: int
    type: str
    type_prob: float
    mass: float


def decode_spans(spans: Sequence[ScoredSpan], threshold: float = 0.0) -> list[Entity]:
    """Keep spans with mass >= threshold, highest mass first, dropping any overlap."""
    taken: set[int] = set()
    chosen: list[Entity] = []
    for span in sorted(spans, key=lambda s: (-s.mass, s.start, s.end)):
        if span.mass < threshold or span.type == NONE_CLASS:
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


class ZeroShotNER:
    """Find and type entity spans with a fill-mask prompt; see the module docstring."""

    def __init__(self, scorer: MaskScorer, types: Mapping[str, str | Sequence[str]],
                 template: str | Template = "{sentence} {span} is a type of {mask}.", max_span_len: int = 3,
                 span_filter: str = "capitalized", threshold: float = 0.0,
                 none_words: Sequence[str] | None = None, aggregate: str = "sum_prob"):
        if not types:
            raise ValueError("give at least one entity type, e.g. {'PER': ['person']}")
        if NONE_CLASS in types:
            raise ValueError(f"{NONE_CLASS!r} is reserved for the not-an-entity class; pass its words as none_words")
        self.scorer = scorer
        self.template = template if isinstance(template, Template) else Template(template)
        if set(self.template.text_slots) != {"sentence", "span"}:
            raise ValueError(f"the NER template needs the slots {{sentence}} and {{span}}; {self.template!r} has {self.template.text_slots}")
        self.types = tuple(types)
        classes = dict(types)
        if none_words:
            classes[NONE_CLASS] = list(none_words)
        self.verbalizer = Verbalizer(classes, aggregate=aggregate)
        self.bound = self.verbalizer.bind(scorer.tokenizer)
        self.max_span_len = max_span_len
        self.span_filter = span_filter
        self.threshold = threshold

    def candidates(self, sentences: Sequence[Sequence[str]]) -> list[list[tuple[int, int]]]:
        """Candidate spans per sentence."""
        return [candidate_spans(tokens, self.max_span_len, self.span_filter) for tokens in sentences]

    def score_spans(self, sentences: Sequence[Sequence[str]],
                    spans: Sequence[Sequence[tuple[int, int]]] | None = None) -> list[list[ScoredSpan]]:
        """Score the given (or the candidate) spans of every sentence in one batched pass."""
        spans = self.candidates(sentences) if spans is None else spans
        inputs = [{"sentence": " ".join(tokens), "span": " ".join(tokens[s:e])}
                  for tokens, sentence_spans in zip(sentences, spans) for s, e in sentence_spans]
        word_lp = self.scorer.word_logprobs(inputs, self.template, self.bound)
        type_words = np.isin(self.bound.word_class, [self.verbalizer.labels.index(t) for t in self.types])
        mass = np.exp(word_lp[:, type_words]).sum(axis=1)
        probs = self.bound.class_probs(word_lp)
        out, row = [], 0
        for sentence_spans in spans:
            scored = []
            for s, e in sentence_spans:
                best = int(probs[row].argmax())
                scored.append(ScoredSpan(s, e, self.verbalizer.labels[best], float(probs[row, best]), float(mass[row])))
                row += 1
            out.append(scored)
        return out

    def predict(self, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
        """BIO tags for each tokenized sentence."""
        return [bio_from_entities(len(tokens), decode_spans(scored, self.threshold))
                for tokens, scored in zip(sentences, self.score_spans(sentences))]
