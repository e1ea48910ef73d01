"""Zero-shot named-entity recognition with fill-mask prompts.

Pipeline (``ZeroShotNER.predict``):

1. **Candidate spans from the original casing** (``candidate_spans``). The model is uncased,
   but the text keeps its capitals, and they are the best cue for where a name is. In a
   sentence whose casing is informative (lower-case words with some capitalised ones), the
   candidates are the maximal runs of capitalised tokens (joined across "of", "de", "&"...;
   a capitalised function word such as a sentence-initial "The" does not count) and every
   sub-span of a run up to ``max_span_len`` tokens. A headline in capitals, a Title Case
   line or an all lower-case text (tweets) carries no casing signal: there every n-gram of
   content words up to ``max_span_len`` tokens is a candidate (with "of", "de", "&" allowed
   inside). A ``#hashtag`` is always a candidate of its own, an ``@mention`` (an account
   handle, untagged in social-media NER corpora such as WNUT 2017) only with
   ``mentions=True``.
2. **Typing with an ensemble of templates.** Each span is put into every template
   ("X is a [MASK].", "X is a type of [MASK]." ...) and the blank is scored against the label
   words of every type *and* of a "none" class (words such as "thing", "time", "day").
   A label word split into several pieces is scored with one mask per piece and its
   log-probability divided by the number of pieces (length-normalised, so long words are
   not penalised). A template without ``{sentence}`` sees the span alone, so it is scored
   once per distinct span text.
3. **A calibrated not-an-entity decision.** Per template, the class probabilities are
   divided by those of content-free spans ("N/A", "", "[MASK]"; Zhao et al. 2021, as in
   notebook 3) and renormalised; the templates' log-probabilities are averaged. A span's
   score is P(any type) / P(none) divided by the number of types k, so that the *average*
   content-free span, which calibration makes uniform, scores 1 whatever k is (each single
   content-free input scores near 1, not exactly 1).
   The span is an entity when its score reaches ``threshold``; its type is the most
   likely one.
4. **Decoding.** Spans are accepted greedily, best first, dropping any that overlaps an
   accepted one; for this ranking each token beyond the first multiplies the score by
   ``prefer_longer``, so the full name "New York Stock Exchange" beats its part "New York"
   unless the part is clearly better. The result is written as IOB2 tags.

The defaults (``CONLL_TYPES``, ``DEFAULT_TEMPLATES``, ``DEFAULT_NONE_WORDS``,
``DEFAULT_THRESHOLD``, ``DEFAULT_PREFER_LONGER``, ``max_span_len``) are the best
configuration found on the CoNLL-2003 *validation* split (notebook 5 shows the comparison).

Also here: CoNLL evaluation (``entities_from_bio``, ``bio_from_entities``, ``entity_prf``),
gold spans and typing accuracy (``gold_spans``, ``typing_accuracy``) and the
no-model baseline ``capitalisation_heuristic``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .calibration import CONTENT_FREE_INPUTS
from .evaluation import ClassifierReport, classifier_report
from .scorer import MaskScorer
from .template import Template
from .verbalizer import Verbalizer

__all__ = [
    "CONLL_TYPES",
    "DEFAULT_NONE_WORDS",
    "DEFAULT_PREFER_LONGER",
    "DEFAULT_TEMPLATES",
    "DEFAULT_THRESHOLD",
    "SPAN_FILTERS",
    "GoldSpan",
    "ScoredSpan",
    "ZeroShotNER",
    "bio_from_entities",
    "candidate_spans",
    "capitalisation_heuristic",
    "casing_is_informative",
    "decode_spans",
    "entities_from_bio",
    "entity_prf",
    "gold_spans",
    "typing_accuracy",
]

Entity = tuple[int, int, str]  # (start, end exclusive, type)
NONE_CLASS = "none"
SPAN_FILTERS = ("casing", "capitalized", "none")
# A label word of several pieces is scored with PET's parallel decoding (one pass, one mask per piece).
_PARALLEL = "parallel"

# ---- defaults chosen on CoNLL-2003 validation (notebook 5) --------------------------------
CONLL_TYPES: dict[str, list[str]] = {
    "PER": ["person", "man", "woman", "player", "politician"],
    "LOC": ["place", "city", "country", "location", "town", "region", "state"],
    "ORG": ["organization", "company", "team", "group", "club", "party"],
    "MISC": ["nationality", "language", "event", "religion", "tournament"],
}
DEFAULT_TEMPLATES: tuple[str, ...] = ("{span} is a {mask}.", "{span} is a type of {mask}.")
DEFAULT_NONE_WORDS: tuple[str, ...] = ("thing", "word", "time", "day", "month", "number", "title", "verb",
                                       "noun", "adjective")
DEFAULT_THRESHOLD = 2.51  # 10 ** 0.4, on the log-spaced grid of bench/ner.py --choose
DEFAULT_PREFER_LONGER = 20.0
DEFAULT_MAX_SPAN_LEN = 3

# ---- candidate spans --------------------------------------------------------------------
# Words that are never a name on their own, whatever their casing (a sentence-initial "The").
FUNCTION_WORDS = frozenset("""
a an the and or but nor of in on at to for from by with without as into onto upon about above below over
under after before since until while during between among through against is are was were be been being
am do does did have has had will would shall should can could may might must i me my mine we us our ours
you your yours he him his she her hers it its they them their theirs this that these those there here
what which who whom whose when where why how not no yes so if then than too very also just only all any
some each every both either neither s 's rt via amp u ur im lol omg smh idk gonna wanna
""".split())
# Lower-case words that may sit inside a name between two capitalised ones; where casing
# says nothing, only the first few may sit inside a candidate ("bank of america").
CONNECTORS = frozenset("of de du des da del della la le van von der den di y & and for the 's".split())
UNCASED_CONNECTORS = frozenset("of de & 's".split())


def _has_letter(token: str) -> bool:
    return any(c.isalpha() for c in token)


def _is_url(token: str) -> bool:
    return token.lower().startswith(("http:", "https:", "www."))


def _is_tag(token: str) -> bool:
    """An @mention or #hashtag."""
    return len(token) > 1 and token[0] in "@#" and _has_letter(token)


def _name_like(token: str) -> bool:
    if _is_tag(token):
        return True
    return _has_letter(token) and token[0].isupper() and token.lower() not in FUNCTION_WORDS and not _is_url(token)


def _content(token: str) -> bool:
    return _has_letter(token) and token.lower() not in FUNCTION_WORDS and not _is_url(token)


def casing_is_informative(tokens: Sequence[str]) -> bool:
    """Whether capitals mark names in this sentence.

    Not in a headline written in capitals (most words all-caps), a Title Case line (no
    lower-case word after the first), or a text with no capitalised word after the first
    (lower-case tweets); short lines of one or two words count as informative.
    """
    words = [t for t in tokens if _has_letter(t) and not _is_tag(t) and not _is_url(t)]
    if not words:
        return False
    all_caps = sum(len(t) > 1 and t.isupper() for t in words)
    lower = sum(t[0].islower() for t in words[1:])
    upper = sum(t[0].isupper() for t in words[1:])
    if all_caps > len(words) / 2:
        return False
    if lower == 0 and len(words) > 2:
        return False
    return not (upper == 0 and len(words) > 3)


def candidate_spans(tokens: Sequence[str], max_span_len: int = DEFAULT_MAX_SPAN_LEN,
                    span_filter: str = "casing", max_run_len: int = 8, mentions: bool = False) -> list[tuple[int, int]]:
    """Candidate (start, end) spans of one tokenized sentence, sorted.

    ``span_filter``:
    - ``"casing"`` (default): maximal runs of capitalised tokens (a run of up to
      ``max_run_len`` tokens is itself a candidate) and their sub-spans of up to
      ``max_span_len`` tokens that start and end on a capitalised token; in a sentence whose
      casing says nothing (``casing_is_informative``), every n-gram of up to
      ``max_span_len`` content words (or "of", "de", "&", "'s" inside); a ``#hashtag`` is a
      candidate of its own, never part of a longer one; an ``@mention`` is one only with
      ``mentions=True`` (it names an account, which social-media NER corpora such as
      WNUT 2017 leave untagged);
    - ``"capitalized"``: every n-gram of up to ``max_span_len`` tokens whose first and last
      tokens start with a capital (the first version of this pipeline);
    - ``"none"``: every n-gram of up to ``max_span_len`` tokens.
    """
    if span_filter not in SPAN_FILTERS:
        raise ValueError(f"span_filter must be one of {SPAN_FILTERS}, not {span_filter!r}")
    if max_span_len < 1:
        raise ValueError("max_span_len must be at least 1")
    n = len(tokens)
    if span_filter != "casing":
        keep = (lambda s, e: True) if span_filter == "none" else (
            lambda s, e: tokens[s][:1].isupper() and tokens[e - 1][:1].isupper())
        return [(s, e) for s in range(n) for e in range(s + 1, min(n, s + max_span_len) + 1) if keep(s, e)]
    spans: set[tuple[int, int]] = set()
    if not casing_is_informative(tokens):
        ok = [_content(t) and not _is_tag(t) for t in tokens]
        inner = [o or t.lower() in UNCASED_CONNECTORS for o, t in zip(ok, tokens)]
        for s in range(n):
            for e in range(s + 1, min(n, s + max_span_len) + 1):
                if ok[s] and ok[e - 1] and all(inner[s:e]):
                    spans.add((s, e))
        spans.update((i, i + 1) for i, t in enumerate(tokens) if _is_tag(t) and (mentions or t[0] == "#"))
        return sorted(spans)
    ok = [_name_like(t) and not _is_tag(t) for t in tokens]
    spans.update((i, i + 1) for i, t in enumerate(tokens) if _is_tag(t) and (mentions or t[0] == "#"))
    i = 0
    while i < n:
        if not ok[i]:
            i += 1
            continue
        j = i + 1  # extend the run, across up to two connectors between name-like tokens
        while j < n:
            if ok[j]:
                j += 1
                continue
            k = j
            while k < n and k - j < 2 and tokens[k].lower() in CONNECTORS:
                k += 1
            if j < k < n and ok[k]:
                j = k
                continue
            break
        for s in range(i, j):
            for e in range(s + 1, min(j, s + max_span_len) + 1):
                if ok[s] and ok[e - 1]:
                    spans.add((s, e))
        if j - i <= max_run_len:
            spans.add((i, j))
        i = j
    return sorted(spans)


def span_text(tokens: Sequence[str]) -> str:
    """The words a prompt shows for a span: "@united" -> "united", "#NewYork" -> "New York"."""
    words = []
    for t in tokens:
        if _is_tag(t):
            t = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", t[1:].replace("_", " "))
        words.append(t)
    return " ".join(words)


# ---- decoding and CoNLL evaluation ------------------------------------------------------
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


# ---- gold spans and typing accuracy -----------------------------------------------------
class GoldSpan(NamedTuple):
    """One gold entity: its sentence's tokens, where it is, and its type."""

    tokens: tuple[str, ...]
    start: int
    end: int
    type: str

    @property
    def sentence(self) -> str:
        """The whole sentence, tokens joined by spaces."""
        return " ".join(self.tokens)

    @property
    def span(self) -> str:
        """The entity's words, joined by spaces."""
        return " ".join(self.tokens[self.start:self.end])

    def as_input(self) -> dict[str, str]:
        """The slots of an NER template: ``{"sentence": ..., "span": ...}``."""
        return {"sentence": self.sentence, "span": self.span}


def gold_spans(sentences: Sequence, types: Sequence[str] | None = None) -> list[GoldSpan]:
    """Every gold entity of ``sentences`` (objects with ``.tokens`` and IOB2 ``.tags``, such
    as ``load_conll2003``'s), in order; only those of ``types`` when given.

    A type in ``types`` that no sentence has is refused (a typo would otherwise give an
    empty list).
    """
    spans = [GoldSpan(tuple(s.tokens), start, end, kind)
             for s in sentences for start, end, kind in entities_from_bio(s.tags)]
    if types is None:
        return spans
    if isinstance(types, str):
        raise TypeError(f"types must be a list of type names such as ['PER', 'LOC'], not the string {types!r}")
    found = {g.type for g in spans}
    missing = [t for t in types if t not in found]
    if missing:
        raise ValueError(f"no gold span has type(s) {missing}; the sentences have {sorted(found)}")
    return [g for g in spans if g.type in set(types)]


def typing_accuracy(scorer: MaskScorer, spans: Sequence[GoldSpan], label_words: Mapping[str, str | Sequence[str]],
                    template: str | Template = "{sentence} {span} is a type of {mask}.",
                    aggregate: str = "sum_prob") -> ClassifierReport:
    """How well one prompt names the type of gold spans: the report (accuracy, per-type
    precision / recall, confusion over ``label_words``' types) of the arg-max type.

    Every span's type must be one of ``label_words``' types (pass ``gold_spans(..., types)``
    to keep only those).
    """
    template = template if isinstance(template, Template) else Template(template)
    unknown = sorted({g.type for g in spans} - set(label_words))
    if unknown:
        raise ValueError(f"spans of type(s) {unknown} have no label words; give words for them or "
                         f"select spans with gold_spans(sentences, types={list(label_words)})")
    verbalizer = Verbalizer(label_words, aggregate=aggregate, multi_token=_PARALLEL)
    inputs = [{slot: g.as_input()[slot] for slot in template.text_slots} for g in spans]
    if set(template.text_slots) - {"sentence", "span"}:
        raise ValueError(f"a typing template may use the slots {{sentence}} and {{span}}; {template!r} has "
                         f"{template.text_slots}")
    predicted = scorer.classify(inputs, template, verbalizer).argmax(axis=1) if spans else []
    truth = [verbalizer.labels.index(g.type) for g in spans]
    return classifier_report(truth, predicted, verbalizer.labels)


# ---- the pipeline -----------------------------------------------------------------------
def _logsumexp(x: np.ndarray) -> np.ndarray:
    top = x.max(axis=1)
    return top + np.log(np.exp(x - top[:, None]).sum(axis=1))


def _log_softmax(x: np.ndarray) -> np.ndarray:
    top = x.max(axis=1, keepdims=True)
    return x - top - np.log(np.exp(x - top).sum(axis=1, keepdims=True))


class ZeroShotNER:
    """Find and type entity spans with fill-mask prompts; see the module docstring.

    ``types`` maps each type name to its label words (any names, any words:
    ``{"person": ["person"], "corporation": ["company", "brand"]}``). ``none_words`` are the
    label words of the not-an-entity class; with none, a span's score is instead the
    probability mass of all type words (the first version of this pipeline; ``threshold``
    is then a probability), or with ``calibrate`` the largest ratio of one type's mass to
    that type's content-free mass (per-type calibration). ``calibrate`` divides by the
    content-free class probabilities per template. ``threshold``, ``prefer_longer``,
    ``calibrate``, ``use_none`` (decide with the none class, or with the type words' mass
    as if there were no none words), ``templates``, ``span_filter``, ``max_span_len`` and
    ``mentions`` (whether @mentions are candidates) are plain attributes: change them and
    predict again; prompts already scored (same template, same span and sentence) are not
    scored again. Templates need a ``{span}`` slot and may have a
    ``{sentence}`` slot.
    """

    def __init__(self, scorer: MaskScorer, types: Mapping[str, str | Sequence[str]],
                 templates: str | Template | Sequence[str | Template] = DEFAULT_TEMPLATES,
                 none_words: Sequence[str] | None = DEFAULT_NONE_WORDS, calibrate: bool = True,
                 threshold: float = DEFAULT_THRESHOLD, prefer_longer: float = DEFAULT_PREFER_LONGER,
                 max_span_len: int = DEFAULT_MAX_SPAN_LEN, span_filter: str = "casing",
                 aggregate: str = "sum_prob", mentions: bool = False):
        if not isinstance(types, Mapping) or not types:
            raise ValueError("give the entity types as a dict of label words, "
                             "e.g. {'PER': ['person'], 'LOC': ['city']}")
        if NONE_CLASS in types:
            raise ValueError(f"{NONE_CLASS!r} is reserved for the not-an-entity class; pass its words as none_words")
        if span_filter not in SPAN_FILTERS:
            raise ValueError(f"span_filter must be one of {SPAN_FILTERS}, not {span_filter!r}")
        if max_span_len < 1:
            raise ValueError("max_span_len must be at least 1")
        if prefer_longer < 1:
            raise ValueError(f"prefer_longer must be at least 1 (1: no preference), not {prefer_longer}")
        if threshold < 0:
            raise ValueError(f"threshold must be >= 0 (a probability or an odds ratio), not {threshold}")
        self.templates = templates
        self.scorer = scorer
        self.types = tuple(str(t) for t in types)
        classes = {str(k): ([v] if isinstance(v, str) else list(v)) for k, v in types.items()}
        type_words = {w.strip().lower() for ws in classes.values() for w in ws if isinstance(w, str)}
        # a none word that is also a type word would be refused when binding; the type keeps it
        none = [w for w in (none_words or ()) if w.strip().lower() not in type_words]
        if none:
            classes[NONE_CLASS] = none
        self.verbalizer = Verbalizer(classes, aggregate=aggregate, multi_token=_PARALLEL)
        self.bound = self.verbalizer.bind(scorer.tokenizer)
        self.has_none = bool(none)
        self.use_none = self.has_none
        self.calibrate = calibrate
        self.threshold = threshold
        self.prefer_longer = prefer_longer
        self.max_span_len = max_span_len
        self.span_filter = span_filter
        self.mentions = mentions
        self._rows: dict[tuple[str, ...], np.ndarray] = {}

    @property
    def templates(self) -> tuple[Template, ...]:
        """The prompts whose class log-probabilities are averaged (set strings or Templates)."""
        return self._templates

    @templates.setter
    def templates(self, templates: str | Template | Sequence[str | Template]) -> None:
        if isinstance(templates, (str, Template)):
            templates = [templates]
        if not templates:
            raise ValueError("give at least one template, e.g. '{span} is a {mask}.'")
        checked = tuple(t if isinstance(t, Template) else Template(t) for t in templates)
        for t in checked:
            if "span" not in t.text_slots or set(t.text_slots) - {"sentence", "span"}:
                raise ValueError(f"an NER template needs a {{span}} slot and may have a {{sentence}} slot; "
                                 f"{t!r} has {t.text_slots}")
        self._templates = checked

    def __repr__(self) -> str:
        return (f"ZeroShotNER(types={self.types}, templates={[t.template for t in self.templates]}, "
                f"use_none={self.use_none}, calibrate={self.calibrate}, threshold={self.threshold}, "
                f"prefer_longer={self.prefer_longer}, max_span_len={self.max_span_len}, "
                f"span_filter={self.span_filter!r}, mentions={self.mentions})")

    def candidates(self, sentences: Sequence[Sequence[str]]) -> list[list[tuple[int, int]]]:
        """Candidate spans per sentence (see ``candidate_spans``)."""
        return [candidate_spans(tokens, self.max_span_len, self.span_filter, mentions=self.mentions)
                for tokens in _check_sentences(sentences)]

    def _word_logprobs(self, inputs: Sequence[Mapping[str, str]], template: Template) -> np.ndarray:
        """Length-normalised word log-probabilities (n, n_words).

        Every prompt is scored once per pipeline: rows are kept, keyed by the template and
        the slot values, so another threshold, decoding or calibration costs no model call.
        A template without ``{sentence}`` sees only the span, so it scores each distinct
        span text once."""
        keys = [(template.template, *(x[slot] for slot in template.text_slots)) for x in inputs]
        todo = sorted({k for k in keys if k not in self._rows})
        if todo:
            fresh = [dict(zip(template.text_slots, k[1:])) for k in todo]
            pieces = np.array([len(ids) for ids in self.bound.word_ids])
            lp = self.scorer.word_logprobs(fresh, template, self.bound) / pieces
            self._rows.update(zip(todo, lp))
        if not keys:
            return np.zeros((0, len(self.bound.words)))
        return np.stack([self._rows[k] for k in keys])

    def _content_free(self, template: Template) -> np.ndarray:
        """Word log-probabilities (n_content_free, n_words) of the content-free inputs."""
        mask = self.scorer.tokenizer.mask_token
        return self._word_logprobs([{slot: c.format(mask_token=mask) for slot in template.text_slots}
                                    for c in CONTENT_FREE_INPUTS], template)

    def class_logprobs(self, inputs: Sequence[Mapping[str, str]]) -> np.ndarray:
        """Log-probabilities (n, n_classes) over ``self.verbalizer.labels`` (the types, then
        "none" when there are none words), calibrated per template when ``calibrate`` and
        averaged over the templates. ``inputs``: dicts with "span" (and "sentence")."""
        total = np.zeros((len(inputs), len(self.verbalizer.labels)))
        for template in self.templates:
            logp = _log_softmax(self.bound.class_logits(self._word_logprobs(inputs, template)))
            if self.calibrate:
                free = np.exp(_log_softmax(self.bound.class_logits(self._content_free(template)))).mean(axis=0)
                logp = _log_softmax(logp - np.log(free))
            total += logp
        return total / len(self.templates)

    def _mass(self, inputs: Sequence[Mapping[str, str]]) -> np.ndarray:
        """The not-a-none-class score (n,): the probability mass of all type words, or with
        ``calibrate`` the largest ratio of a type's mass to its content-free mass; the
        geometric mean over the templates."""
        k = len(self.types)
        log_mass = np.zeros(len(inputs))
        for template in self.templates:
            class_mass = self.bound.class_logits(self._word_logprobs(inputs, template))[:, :k]  # log mass per type
            if self.calibrate:
                free = np.exp(self.bound.class_logits(self._content_free(template))[:, :k]).mean(axis=0)
                log_mass += (class_mass - np.log(free)).max(axis=1)
            else:
                log_mass += _logsumexp(class_mass)
        return np.exp(log_mass / len(self.templates))

    def score_spans(self, sentences: Sequence[Sequence[str]],
                    spans: Sequence[Sequence[tuple[int, int]]] | None = None) -> list[list[ScoredSpan]]:
        """Score the given (or the candidate) spans of every sentence in one batched pass."""
        sentences = _check_sentences(sentences)
        spans = self.candidates(sentences) if spans is None else spans
        if len(spans) != len(sentences):
            raise ValueError(f"{len(sentences)} sentences but spans for {len(spans)}")
        inputs = [{"sentence": " ".join(tokens), "span": span_text(tokens[s:e])}
                  for tokens, sentence_spans in zip(sentences, spans) for s, e in sentence_spans]
        logp = self.class_logprobs(inputs) if inputs else np.zeros((0, len(self.verbalizer.labels)))
        k = len(self.types)
        type_probs = np.exp(_log_softmax(logp[:, :k]))
        best = type_probs.argmax(axis=1)
        if self.use_none and not self.has_none:
            raise ValueError("use_none is True but this pipeline has no none words; create it with none_words=[...]")
        if self.use_none:  # P(any type) / P(none), divided by its content-free value k
            score = np.exp(_logsumexp(logp[:, :k]) - logp[:, k]) / k
        else:
            score = self._mass(inputs) if inputs else np.zeros(0)
        out, row = [], 0
        for sentence_spans in spans:
            scored = []
            for s, e in sentence_spans:
                scored.append(ScoredSpan(s, e, self.types[best[row]], float(type_probs[row, best[row]]),
                                         float(score[row])))
                row += 1
            out.append(scored)
        return out

    def decode(self, n_tokens: int, scored: Sequence[ScoredSpan]) -> list[str]:
        """IOB2 tags for one sentence from its scored spans, with this pipeline's threshold
        and preference for longer spans."""
        return bio_from_entities(n_tokens, decode_spans(scored, self.threshold, self.prefer_longer))

    def predict(self, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
        """IOB2 tags for each tokenized sentence (a list of token lists)."""
        sentences = _check_sentences(sentences)
        return [self.decode(len(tokens), scored) for tokens, scored in zip(sentences, self.score_spans(sentences))]


def _check_sentences(sentences) -> list[list[str]]:
    if isinstance(sentences, str) or not isinstance(sentences, Sequence):
        raise TypeError("pass tokenized sentences: a list of token lists, e.g. [['John', 'lives', 'in', 'Paris']]")
    out = []
    for i, tokens in enumerate(sentences):
        if isinstance(tokens, str) or not isinstance(tokens, Sequence) or not all(isinstance(t, str) for t in tokens):
            raise TypeError(f"sentence {i} must be a list of token strings (e.g. text.split()), not {tokens!r:.60}")
        out.append(list(tokens))
    return out


# =========================================================================================
# Notebook 5's tools: the pipeline with other settings, the threshold a sweep chose, the
# noise of an entity F1 over sentences, the memorisation baseline, entities shown in HTML.
# Self-contained: importable as ``from helpers.ner import ...``.
# =========================================================================================
import collections as _collections
import copy as _copy
import html as _html

from .evaluation import Interval as _Interval

_NER_SETTINGS = ("templates", "use_none", "calibrate", "threshold", "prefer_longer", "max_span_len",
                 "span_filter", "mentions")
ENTITY_COLOURS: dict[str, str] = {"PER": "#E69F00", "LOC": "#56B4E9", "ORG": "#009E73", "MISC": "#CC79A7"}  # Okabe-Ito


def with_settings(ner: ZeroShotNER, **settings) -> ZeroShotNER:
    """A copy of ``ner`` with some settings changed (``templates``, ``use_none``, ``calibrate``,
    ``threshold``, ``prefer_longer``, ``max_span_len``, ``span_filter``, ``mentions``).

    ``ner`` itself is left as it was; the copy shares its scored prompts, so a prompt either
    of them has scored costs no model call again."""
    unknown = sorted(set(settings) - set(_NER_SETTINGS))
    if unknown:
        raise TypeError(f"unknown setting(s) {unknown}; a ZeroShotNER has the settings {list(_NER_SETTINGS)}")
    if settings.get("span_filter", "casing") not in SPAN_FILTERS:
        raise ValueError(f"span_filter must be one of {SPAN_FILTERS}, not {settings['span_filter']!r}")
    if settings.get("prefer_longer", 1) < 1:
        raise ValueError(f"prefer_longer must be at least 1 (1: no preference), not {settings['prefer_longer']}")
    if settings.get("threshold", 0) < 0:
        raise ValueError(f"threshold must be >= 0 (a probability or an odds ratio), not {settings['threshold']}")
    if settings.get("max_span_len", 1) < 1:
        raise ValueError("max_span_len must be at least 1")
    if settings.get("use_none") and not ner.has_none:
        raise ValueError("use_none=True needs none words; create the pipeline with none_words=[...]")
    copy = _copy.copy(ner)  # shallow: the dict of scored prompts is shared
    for name, value in settings.items():
        setattr(copy, name, value)
    return copy


def choose_threshold(grid: Sequence[float], curve: Sequence[Mapping[str, float]], key: str = "f1") -> tuple[float, int]:
    """The threshold of ``grid`` whose scores in ``curve`` (one dict per threshold, e.g.
    ``entity_prf(...)["micro"]``) have the largest ``key``, and its index; on a tie the
    smallest such threshold (the first in grid order)."""
    if len(grid) != len(curve):
        raise ValueError(f"{len(grid)} thresholds but {len(curve)} scores: sweep the same grid you pass")
    if len(grid) == 0:
        raise ValueError("the grid is empty; give at least one threshold")
    values = [float(m[key]) for m in curve]
    i = int(np.argmax(values))
    return float(grid[i]), i


def nearest_threshold(grid: Sequence[float], value: float) -> int:
    """The index of the threshold of ``grid`` nearest to ``value`` on a log scale."""
    array = np.asarray(grid, dtype=float)
    if array.size == 0 or (array <= 0).any() or value <= 0:
        raise ValueError("a log-scale lookup needs a non-empty grid of positive thresholds and a positive value")
    return int(np.argmin(np.abs(np.log(array / value))))


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
                        level: float = 0.95, seed: int = 0) -> _Interval:
    """Micro entity F1 with a percentile bootstrap interval over **sentences** (a sentence's
    entities are resampled together, since they are not independent). Seeded."""
    _check_bootstrap(n_resamples, level)
    counts = entity_counts(gold, predicted)
    value = float(_f1_of_counts(counts.sum(axis=0)))
    if len(counts) == 0:
        return _Interval(value, value, value, level)
    low, high = np.quantile(_f1_of_counts(_resampled_sums(counts, n_resamples, seed)), [(1 - level) / 2, (1 + level) / 2])
    return _Interval(value, float(low), float(high), level)


def compare_entity_f1(gold: Sequence[Sequence[str]], predicted_a: Sequence[Sequence[str]],
                      predicted_b: Sequence[Sequence[str]], n_resamples: int = 1000, level: float = 0.95,
                      seed: int = 0) -> _Interval:
    """F1 of A minus F1 of B on the same sentences, with a paired bootstrap interval: both are
    scored on the same resampled sentences, so what they share cancels. An interval that
    contains 0 means the data cannot tell the two apart."""
    _check_bootstrap(n_resamples, level)
    a, b = entity_counts(gold, predicted_a), entity_counts(gold, predicted_b)
    if len(a) != len(b):
        raise ValueError(f"{len(a)} sentences predicted by A but {len(b)} by B: compare them on the same sentences")
    value = float(_f1_of_counts(a.sum(axis=0)) - _f1_of_counts(b.sum(axis=0)))
    if len(a) == 0:
        return _Interval(value, value, value, level)
    both = np.concatenate([a, b], axis=1)  # resample the pairs together
    sums = _resampled_sums(both, n_resamples, seed)
    differences = _f1_of_counts(sums[:, :3]) - _f1_of_counts(sums[:, 3:])
    low, high = np.quantile(differences, [(1 - level) / 2, (1 + level) / 2])
    return _Interval(value, float(low), float(high), level)


def memorised_types(sentences: Sequence) -> dict[str, str]:
    """The memorisation baseline's lexicon: each entity's surface string in ``sentences``
    (objects with ``.tokens`` and IOB2 ``.tags``, such as the training split) mapped to its
    most frequent type there; a tie goes to the type first in alphabetical order."""
    seen: dict[str, _collections.Counter] = _collections.defaultdict(_collections.Counter)
    for s in sentences:
        for start, end, kind in entities_from_bio(s.tags):
            seen[" ".join(s.tokens[start:end])][kind] += 1
    return {text: min(counter, key=lambda k: (-counter[k], k)) for text, counter in seen.items()}


def memorisation_baseline(tokens: Sequence[str], memory: Mapping[str, str], max_span_len: int | None = None) -> list[str]:
    """The no-model baseline that remembers the training data: from left to right, the longest
    run of tokens whose text (exact case) is in ``memory`` (``memorised_types``) is an entity of
    its remembered type. Names never seen in training are missed. IOB2 tags.

    The shared task's own baseline tagged only names with a single type in training (Tjong Kim
    Sang & De Meulder 2003); this one takes the most frequent type."""
    tokens = list(tokens)
    longest = max_span_len or max((len(k.split()) for k in memory), default=1)
    entities, i = [], 0
    while i < len(tokens):
        for n in range(min(longest, len(tokens) - i), 0, -1):
            kind = memory.get(" ".join(tokens[i:i + n]))
            if kind is not None:
                entities.append((i, i + n, kind))
                i += n
                break
        else:
            i += 1
    return bio_from_entities(len(tokens), entities)


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
                       f'{_html.escape(" ".join(tokens[i:end]))} <sub>{_html.escape(kind)}</sub></span>')
            i = end
        else:
            out.append(_html.escape(tokens[i]))
            i += 1
    return " ".join(out)


__all__ += ["ENTITY_COLOURS", "bootstrap_entity_f1", "choose_threshold", "compare_entity_f1", "entity_counts",
            "highlight", "memorisation_baseline", "memorised_types", "nearest_threshold", "with_settings"]
