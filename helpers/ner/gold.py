"""Gold entity spans of tagged sentences, and how well one prompt names their types."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

from ..evaluation import classifier_report
from ..template import Template
from ..verbalizer import Verbalizer
from .scoring import entities_from_bio

if TYPE_CHECKING:
    from ..evaluation import ClassifierReport
    from ..scorer import MaskScorer

# A label word of several pieces is scored with PET's parallel decoding (one pass, one mask per piece).
MULTI_TOKEN = "parallel"


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
    verbalizer = Verbalizer(label_words, aggregate=aggregate, multi_token=MULTI_TOKEN)
    inputs = [{slot: g.as_input()[slot] for slot in template.text_slots} for g in spans]
    if set(template.text_slots) - {"sentence", "span"}:
        raise ValueError(f"a typing template may use the slots {{sentence}} and {{span}}; {template!r} has "
                         f"{template.text_slots}")
    predicted = scorer.classify(inputs, template, verbalizer).argmax(axis=1) if spans else []
    truth = [verbalizer.labels.index(g.type) for g in spans]
    return classifier_report(truth, predicted, verbalizer.labels)
