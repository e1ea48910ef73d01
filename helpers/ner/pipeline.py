"""``ZeroShotNER``: candidate spans typed by an ensemble of fill-mask prompts, a calibrated
not-an-entity decision, and greedy decoding (the steps are described in ``helpers.ner``)."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..calibration import CONTENT_FREE_INPUTS
from ..template import Template
from ..verbalizer import Verbalizer, logsumexp
from .decoding import NONE_CLASS, ScoredSpan, bio_from_entities, decode_spans
from .gold import MULTI_TOKEN
from .spans import DEFAULT_MAX_SPAN_LEN, SPAN_FILTERS, candidate_spans, span_text

if TYPE_CHECKING:
    from ..scorer import MaskScorer

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


def _log_softmax(x: np.ndarray) -> np.ndarray:
    top = x.max(axis=1, keepdims=True)
    return x - top - np.log(np.exp(x - top).sum(axis=1, keepdims=True))


class ZeroShotNER:
    """Find and type entity spans with fill-mask prompts; see the module docstring.

    ``types`` maps each type name to its label words (any names, any words:
    ``{"person": ["person"], "corporation": ["company", "brand"]}``). ``none_words`` are the
    label words of the not-an-entity class; with none, a span's score is instead the
    probability mass of all type words (the decision notebook 5 starts from; ``threshold``
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
        self.verbalizer = Verbalizer(classes, aggregate=aggregate, multi_token=MULTI_TOKEN)
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
                log_mass += logsumexp(class_mass, axis=1)
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
            score = np.exp(logsumexp(logp[:, :k], axis=1) - logp[:, k]) / k
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


_NER_SETTINGS = ("templates", "use_none", "calibrate", "threshold", "prefer_longer", "max_span_len",
                 "span_filter", "mentions")


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
    changed = copy.copy(ner)  # shallow: the dict of scored prompts is shared
    for name, value in settings.items():
        setattr(changed, name, value)
    return changed


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
