"""Prompt templates: a task input turned into a fill-in-the-blank sentence.

A template is a string with one ``{mask}`` slot (the literal ``[MASK]`` works too) and one
or more named text slots such as ``{text}``: ``Template("{text} It was {mask}.")``.
When the filled prompt is longer than the model allows, only the text slots are cut;
the template's own words and the mask always survive.
"""

from __future__ import annotations

import functools
import string
from collections.abc import Mapping, Sequence
from typing import NamedTuple

__all__ = ["Template", "TemplateError", "EncodedPrompt"]

MASK_SLOT = "mask"
_LITERAL_MASKS = ("[MASK]", "<mask>")


def with_mask_token(text: str, tokenizer) -> str:
    """``text`` with each literal mask ("[MASK]" or "<mask>") written as ``tokenizer``'s own mask token,
    so a text written for BERT ("[MASK]") also works with a RoBERTa-style tokenizer ("<mask>")."""
    mask = tokenizer.mask_token
    for literal in _LITERAL_MASKS:
        if literal != mask:
            text = text.replace(literal, mask)
    return text


def readable_tokens(tokenizer, ids: Sequence[int]) -> list[str]:
    """Each token id as a person reads it: a byte-level BPE piece ("Ġgreat") as its text ("great");
    WordPiece tokens ("great", "##ing", "[CLS]") and special tokens ("<s>") as they are."""
    special = set(tokenizer.all_special_ids)
    tokens = tokenizer.convert_ids_to_tokens(list(ids))
    return [token if i in special or token.startswith("##")
            else (tokenizer.convert_tokens_to_string([token]).strip() or token)
            for i, token in zip(ids, tokens)]


def continuation_ids(tokenizer) -> list[int]:
    """Ids of the vocabulary entries that can only continue a word, never start one after a space:
    WordPiece's "##" pieces, or, in a byte-level BPE vocabulary (word starts marked "Ġ"), every
    entry without that mark other than the special tokens."""
    vocab = tokenizer.get_vocab()
    if any(token.startswith("##") for token in vocab):
        return sorted(i for token, i in vocab.items() if token.startswith("##"))
    if any(token.startswith("Ġ") for token in vocab):
        special = set(tokenizer.all_special_ids)
        return sorted(i for token, i in vocab.items() if not token.startswith("Ġ") and i not in special)
    raise ValueError(f"{type(tokenizer).__name__} marks neither word pieces (##) nor word starts (Ġ); "
                     "use a WordPiece (BERT) or byte-level BPE (RoBERTa) tokenizer")


class TemplateError(ValueError):
    """A template string that cannot work as a prompt."""


class EncodedPrompt(NamedTuple):
    """Token ids of one filled prompt, where its mask slot is, and whether text was cut.

    ``template_positions`` are the positions of the template's own words (not the text
    slots, the mask or the special tokens); soft prompts replace them with trained vectors.
    """

    ids: list[int]
    mask_positions: list[int]
    truncated: bool
    template_positions: tuple[int, ...] = ()


@functools.lru_cache(maxsize=16)
def special_tokens_around(tokenizer) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Return the ids a tokenizer puts before and after one sequence ([CLS] / [SEP] for BERT)."""
    bare = tokenizer.encode("a", add_special_tokens=False)
    full = tokenizer.encode("a")
    start = next(i for i in range(len(full)) if full[i:i + len(bare)] == bare)
    return tuple(full[:start]), tuple(full[start + len(bare):])


class Template:
    """A prompt as data: template words, one mask slot and named text slots."""

    def __init__(self, template: str, truncate: str = "right"):
        if truncate not in ("right", "left"):
            raise TemplateError("truncate must be 'right' (drop the end of a long text) or 'left' (drop its start)")
        self.template = template
        self.truncate = truncate
        normalised = template
        for literal in _LITERAL_MASKS:
            normalised = normalised.replace(literal, "{" + MASK_SLOT + "}")
        try:
            parsed = list(string.Formatter().parse(normalised))
        except ValueError as err:
            raise TemplateError(f"cannot parse template {template!r}: {err}") from None
        self._pieces: list[tuple[str, str | None]] = []  # (literal text, slot name or None)
        for literal, field, spec, conversion in parsed:
            if field == "" or (field is not None and field.isdigit()):
                raise TemplateError(f"template {template!r} has an unnamed slot '{{}}'; name it, e.g. '{{text}}'")
            if spec or conversion:
                raise TemplateError(f"template slot {{{field}}} must not carry a format spec or conversion")
            self._pieces.append((literal, field))
        slots = [f for _, f in self._pieces if f is not None]
        n_masks = slots.count(MASK_SLOT)
        if n_masks != 1:
            found = "no mask slot" if n_masks == 0 else f"{n_masks} mask slots"
            raise TemplateError(
                f"template {template!r} has {found}; it needs exactly one {{mask}} (or [MASK]), "
                "the blank the model fills in"
            )
        self.text_slots: tuple[str, ...] = tuple(dict.fromkeys(f for f in slots if f != MASK_SLOT))
        if not self.text_slots:
            raise TemplateError(
                f"template {template!r} has no text slot; add one such as {{text}} where the input goes"
            )

    def __repr__(self) -> str:
        return f"Template({self.template!r})"

    def _fields(self, text: str | Mapping[str, str]) -> Mapping[str, str]:
        if isinstance(text, str):
            if len(self.text_slots) != 1:
                raise TemplateError(f"{self!r} has slots {self.text_slots}; pass a dict with a value for each")
            return {self.text_slots[0]: text}
        missing = [s for s in self.text_slots if s not in text]
        if missing:
            raise TemplateError(f"{self!r} needs a value for slot(s) {missing}; got keys {sorted(text)}")
        return text

    def fill(self, text: str | Mapping[str, str], mask_token: str = "[MASK]") -> str:
        """Return the prompt as a string, with ``mask_token`` in the mask slot."""
        fields = self._fields(text)
        return "".join(lit + (mask_token if f == MASK_SLOT else fields[f] if f else "") for lit, f in self._pieces)

    def encode(
        self,
        tokenizer,
        text: str | Mapping[str, str],
        max_length: int | None = None,
        n_masks: int = 1,
    ) -> EncodedPrompt:
        """Return the input ids (with special tokens), the mask slot's positions, and
        whether a text slot was cut to fit.

        Pieces are tokenized one by one and joined, which for WordPiece (BERT) gives the
        same ids as tokenizing the whole prompt when slots sit next to spaces or
        punctuation. ``n_masks`` > 1 puts several mask tokens in the slot (for label
        words of several pieces).
        """
        fields = self._fields(text)
        limit = max_length or tokenizer.model_max_length
        pieces: list[tuple[list[int], str | None]] = []
        for literal, field in self._pieces:
            if field == MASK_SLOT:  # a space before the mask belongs to it (RoBERTa's <mask> absorbs it)
                literal = literal.rstrip()
            if literal.strip():
                pieces.append((tokenizer.encode(literal, add_special_tokens=False), None))
            if field == MASK_SLOT:
                pieces.append(([tokenizer.mask_token_id] * n_masks, MASK_SLOT))
            elif field:
                pieces.append((tokenizer.encode(fields[field], add_special_tokens=False, verbose=False), field))
        is_text = [slot not in (None, MASK_SLOT) for _, slot in pieces]
        prefix, suffix = special_tokens_around(tokenizer)
        fixed = sum(len(ids) for (ids, _), t in zip(pieces, is_text) if not t) + len(prefix) + len(suffix)
        budget = limit - fixed
        if budget < len(self.text_slots):
            raise TemplateError(
                f"{self!r} needs {fixed} tokens without its text, leaving {budget} of the model's "
                f"{limit} for the text; shorten the template"
            )
        lengths = [len(ids) for (ids, _), t in zip(pieces, is_text) if t]
        cut = sum(lengths) > budget
        excess = sum(lengths) - budget
        while excess > 0:  # cut the longest text slot down towards the next longest
            i = lengths.index(max(lengths))
            runner_up = max((n for j, n in enumerate(lengths) if j != i), default=0)
            step = max(1, min(excess, lengths[i] - runner_up))
            lengths[i] -= step
            excess -= step
        ids: list[int] = list(prefix)
        positions: list[int] = []
        literal: list[int] = []
        text_index = 0
        for (piece, slot), text_piece in zip(pieces, is_text):
            if slot == MASK_SLOT:
                positions = list(range(len(ids), len(ids) + n_masks))
            elif slot is None:
                literal.extend(range(len(ids), len(ids) + len(piece)))
            elif text_piece:
                keep = lengths[text_index]
                text_index += 1
                piece = piece[:keep] if self.truncate == "right" else piece[len(piece) - keep:]
            ids.extend(piece)
        return EncodedPrompt(ids + list(suffix), positions, cut, tuple(literal))

    def encode_batch(
        self,
        tokenizer,
        texts: Sequence[str | Mapping[str, str]],
        max_length: int | None = None,
        n_masks: int = 1,
    ) -> list[EncodedPrompt]:
        """Encode many inputs (see ``encode``)."""
        return [self.encode(tokenizer, t, max_length, n_masks) for t in texts]
