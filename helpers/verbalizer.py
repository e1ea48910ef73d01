"""Verbalizers: the words that stand for each class at the mask position.

``Verbalizer({"positive": ["great", "good"], "negative": ["terrible", "bad"]})`` maps each
class to label words. ``bind(tokenizer)`` checks every word against the vocabulary:

- a word the vocabulary keeps whole is one token id;
- a word it splits into several pieces is refused by default (``multi_token="error"``),
  because scoring only its first piece would silently score another word. With
  ``multi_token="pet"`` it is scored as in PET (Schick & Schuetze 2021): the prompt gets
  as many masks as the word has pieces, and the word's log-probability is the sum of its
  pieces' log-probabilities at those masks (one pass; longer words score lower).

A class's words are combined by ``aggregate``: ``"mean_logprob"`` (mean of the words'
log-probabilities), ``"sum_prob"`` (total probability of the words) or ``"max"`` (the
most likely word). Class probabilities are a softmax over those class scores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Verbalizer", "VerbalizerError", "BoundVerbalizer"]

AGGREGATES = ("mean_logprob", "sum_prob", "max")
MULTI_TOKEN_POLICIES = ("error", "pet")


def _logsumexp(x: np.ndarray, axis: int) -> np.ndarray:
    top = x.max(axis=axis, keepdims=True)
    return (top + np.log(np.exp(x - top).sum(axis=axis, keepdims=True))).squeeze(axis)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax along ``axis``."""
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


class VerbalizerError(ValueError):
    """Label words that cannot be scored as asked."""


@dataclass(frozen=True)
class BoundVerbalizer:
    """A verbalizer checked against one tokenizer: token ids for every label word."""

    labels: tuple[str, ...]
    words: tuple[str, ...]  # every label word, class by class
    word_class: np.ndarray  # class index of each word
    word_ids: tuple[tuple[int, ...], ...]  # token ids of each word (several under PET)
    aggregate: str

    def class_logits(self, word_logprobs: np.ndarray) -> np.ndarray:
        """Combine word log-probabilities (n, n_words) into class scores (n, n_classes)."""
        n = word_logprobs.shape[0]
        scores = np.empty((n, len(self.labels)))
        for c in range(len(self.labels)):
            lp = word_logprobs[:, self.word_class == c]
            if self.aggregate == "mean_logprob":
                scores[:, c] = lp.mean(axis=1)
            elif self.aggregate == "sum_prob":
                scores[:, c] = _logsumexp(lp, axis=1)
            else:
                scores[:, c] = lp.max(axis=1)
        return scores

    def class_probs(self, word_logprobs: np.ndarray) -> np.ndarray:
        """Return class probabilities (n, n_classes): a softmax over the class scores."""
        return softmax(self.class_logits(word_logprobs), axis=1)


class Verbalizer:
    """A mapping from class names to one or more label words."""

    def __init__(
        self,
        label_words: Mapping[str, str | Sequence[str]],
        aggregate: str = "mean_logprob",
        multi_token: str = "error",
    ):
        if aggregate not in AGGREGATES:
            raise VerbalizerError(f"aggregate must be one of {AGGREGATES}, not {aggregate!r}")
        if multi_token not in MULTI_TOKEN_POLICIES:
            raise VerbalizerError(f"multi_token must be one of {MULTI_TOKEN_POLICIES}, not {multi_token!r}")
        if not label_words:
            raise VerbalizerError("a verbalizer needs at least one class, e.g. {'positive': ['great']}")
        self.label_words: dict[str, list[str]] = {}
        for label, words in label_words.items():
            words = [words] if isinstance(words, str) else list(words)
            if not words:
                raise VerbalizerError(f"class {label!r} has no label words; give it at least one")
            for w in words:
                if not isinstance(w, str) or not w.strip():
                    raise VerbalizerError(f"class {label!r} has an empty or non-string label word {w!r}")
            self.label_words[str(label)] = [w.strip() for w in words]
        if len(self.label_words) < 2:
            raise VerbalizerError("a classifier needs at least two classes")
        self.aggregate = aggregate
        self.multi_token = multi_token

    @property
    def labels(self) -> tuple[str, ...]:
        """Class names in order: column ``i`` of a probability array is ``labels[i]``."""
        return tuple(self.label_words)

    def __repr__(self) -> str:
        return f"Verbalizer({self.label_words!r}, aggregate={self.aggregate!r})"

    def bind(self, tokenizer) -> BoundVerbalizer:
        """Check every label word against ``tokenizer`` and return their token ids."""
        words, classes, ids = [], [], []
        for c, (label, label_words) in enumerate(self.label_words.items()):
            for w in label_words:
                pieces = tokenizer.tokenize(" " + w)  # leading space: BPE vocabularies mark word starts
                piece_ids = tokenizer.convert_tokens_to_ids(pieces)
                if tokenizer.unk_token_id in piece_ids:
                    raise VerbalizerError(f"label word {w!r} ({label}) is unknown to the vocabulary ({pieces})")
                if len(pieces) > 1 and self.multi_token == "error":
                    raise VerbalizerError(
                        f"label word {w!r} ({label}) is split by the vocabulary into {len(pieces)} pieces "
                        f"{pieces}; one mask can only hold one piece. Use a word the vocabulary keeps "
                        "whole, or pass multi_token='pet' to score all its pieces with several masks."
                    )
                words.append(w)
                classes.append(c)
                ids.append(tuple(piece_ids))
        return BoundVerbalizer(self.labels, tuple(words), np.asarray(classes), tuple(ids), self.aggregate)
