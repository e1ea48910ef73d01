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

Modules: ``spans`` (candidate spans), ``decoding`` (scored spans to entities and IOB2 tags;
the no-model baseline ``capitalisation_heuristic``), ``scoring`` (CoNLL evaluation:
``entities_from_bio``, ``entity_prf``), ``gold`` (gold spans and typing accuracy:
``gold_spans``, ``typing_accuracy``), ``pipeline`` (``ZeroShotNER``, its defaults, ``with_settings``
copies and the threshold a sweep chose) and
``display`` (``highlight``: entities in HTML), ``memorisation`` (the memorisation baseline:
``memorised_types``, ``memorisation_baseline``); ``scoring`` also holds the bootstrap over sentences.
"""

from .decoding import (
    ScoredSpan,
    bio_from_entities,
    capitalisation_heuristic,
    decode_spans,
)
from .display import ENTITY_COLOURS, highlight
from .gold import GoldSpan, gold_spans, typing_accuracy
from .memorisation import memorisation_baseline, memorised_types
from .pipeline import (
    CONLL_TYPES,
    DEFAULT_NONE_WORDS,
    DEFAULT_PREFER_LONGER,
    DEFAULT_TEMPLATES,
    DEFAULT_THRESHOLD,
    ZeroShotNER,
    choose_threshold,
    nearest_threshold,
    with_settings,
)
from .scoring import bootstrap_entity_f1, compare_entity_f1, entities_from_bio, entity_counts, entity_prf
from .spans import (
    SPAN_FILTERS,
    candidate_spans,
    casing_is_informative,
    span_text,  # noqa: F401  (not in __all__, imported from here by the tests)
)

__all__ = [
    "ENTITY_COLOURS",
    "bootstrap_entity_f1",
    "choose_threshold",
    "compare_entity_f1",
    "entity_counts",
    "highlight",
    "memorisation_baseline",
    "memorised_types",
    "nearest_threshold",
    "with_settings",
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
