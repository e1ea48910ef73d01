"""Verbalizers: the words that stand for each class at the mask position.

``Verbalizer({"positive": ["great", "good"], "negative": ["terrible", "bad"]})`` maps each
class to label words. ``bind(verbalizer, tokenizer)`` checks every word against the
vocabulary:

- a word the vocabulary keeps whole is one token id;
- a word it splits into several pieces is refused by default (``multi_token="error"``),
  because scoring only its first piece would silently score another word. PET (Schick &
  Schuetze 2021, "It's Not Just Size That Matters") scores such a word with as many masks
  as it has pieces, in one of two ways:

  * ``multi_token="parallel"``: PET's *parallel* decoding. One pass; the word's
    log-probability is the sum of its pieces' log-probabilities, piece ``j`` at mask ``j``.
  * ``multi_token="iterative"``: PET's default decoding. Of the masks still open, fill
    the one where the word's own piece is most probable with that piece, run the model
    again, and repeat; the word's log-probability is the sum of the pieces'
    log-probabilities at the moment each was filled (k passes for a k-piece word).

  Either way longer words score lower.
- the same word twice, or two words with the same token ids ("Great" and "great" under an
  uncased vocabulary), is refused: one set of ids can only vote once.

A class's words are combined by ``aggregate``: ``"mean_logprob"`` (mean of the words'
log-probabilities), ``"sum_prob"`` (total probability of the words) or ``"max"`` (the
most likely word). Class probabilities are a softmax over those class scores.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Verbalizer", "VerbalizerError", "BoundVerbalizer", "bind"]

AGGREGATES = ("mean_logprob", "sum_prob", "max")
MULTI_TOKEN_POLICIES = ("error", "parallel", "iterative")


def logsumexp(x: np.ndarray, axis: int) -> np.ndarray:
    """Numerically stable ``log(sum(exp(x)))`` along ``axis`` (which is dropped)."""
    top = x.max(axis=axis, keepdims=True)
    return (top + np.log(np.exp(x - top).sum(axis=axis, keepdims=True))).squeeze(axis)


def aggregate_words(word_logprobs, word_class, n_classes: int, aggregate: str):
    """Class scores (n, n_classes) from word log-probabilities (n, n_words) by ``aggregate``.

    ``word_class`` (n_words,) is each word's class. Works on numpy arrays and on torch tensors
    (differentiable, for prompt-based fine-tuning), and returns the same kind.
    """
    if isinstance(word_logprobs, np.ndarray):
        mean, top, total, stack = np.mean, np.amax, logsumexp, np.stack
    else:
        import torch

        mean, top, total, stack = torch.mean, torch.amax, torch.logsumexp, torch.stack
    columns = []
    for c in range(n_classes):
        lp = word_logprobs[:, word_class == c]
        if aggregate == "mean_logprob":
            columns.append(mean(lp, 1))
        elif aggregate == "sum_prob":
            columns.append(total(lp, 1))
        elif aggregate == "max":
            columns.append(top(lp, 1))
        else:
            raise ValueError(f"unknown aggregate {aggregate!r}; choose one of {', '.join(AGGREGATES)}")
    return stack(columns, 1)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax along ``axis``."""
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


class VerbalizerError(ValueError):
    """Label words that cannot be scored as asked."""


@dataclass(frozen=True, eq=False)
class BoundVerbalizer:
    """A verbalizer checked against one tokenizer: token ids for every label word.

    ``columns[i]`` is where word ``i`` sits among the words of the verbalizer this one was
    bound from (``0..n_words-1`` for a fresh bind; see ``subset``). Compared by identity
    (it holds a numpy array, which has no single truth value under ``==``).
    """

    labels: tuple[str, ...]
    words: tuple[str, ...]  # every label word, class by class
    word_class: np.ndarray  # (n_words,) class index of each word
    word_ids: tuple[tuple[int, ...], ...]  # token ids of each word (several for a split word)
    aggregate: str
    multi_token: str = "error"
    columns: tuple[int, ...] = ()

    def __post_init__(self):
        if not self.columns:
            object.__setattr__(self, "columns", tuple(range(len(self.words))))

    def class_logits(self, word_logprobs: np.ndarray) -> np.ndarray:
        """Combine word log-probabilities (n, n_words) into class scores (n, n_classes)."""
        word_logprobs = np.asarray(word_logprobs)
        if word_logprobs.ndim != 2 or word_logprobs.shape[1] != len(self.words):
            raise VerbalizerError(
                f"expected word log-probabilities of shape (n, {len(self.words)}) for the words {self.words}, "
                f"got {word_logprobs.shape}; for a subset pass word_logprobs[:, subset.columns]"
            )
        if not len(self.labels):
            return np.empty((word_logprobs.shape[0], 0))
        return aggregate_words(word_logprobs, self.word_class, len(self.labels), self.aggregate).astype(float)

    def class_probs(self, word_logprobs: np.ndarray) -> np.ndarray:
        """Return class probabilities (n, n_classes): a softmax over the class scores."""
        return softmax(self.class_logits(word_logprobs), axis=1)

    def subset(self, words: Sequence[str] | Verbalizer) -> BoundVerbalizer:
        """The same classes restricted to some of the words, with no new tokenization.

        ``words`` is a list of this verbalizer's words, or a ``Verbalizer`` whose classes
        are these classes (same order) and whose words all appear here under the same
        class; its ``aggregate`` is then used. The result's ``columns`` say where its words
        sit here, so word log-probabilities scored once for all words serve every subset::

            sub = everything.subset(["great", "terrible"])
            sub.class_probs(word_logprobs[:, sub.columns])
        """
        aggregate = self.aggregate
        if isinstance(words, Verbalizer):
            if words.labels != self.labels:
                raise VerbalizerError(f"the subset's classes {words.labels} must be this verbalizer's "
                                      f"classes {self.labels}, in that order")
            aggregate = words.aggregate
            wanted = [(w, c) for c, ws in enumerate(words.label_words.values()) for w in ws]
        else:
            if isinstance(words, str):
                words = [words]
            wanted = [(w, None) for w in words]
        picked = []
        for word, c in wanted:
            if word not in self.words:
                raise VerbalizerError(f"{word!r} is not one of this verbalizer's words {self.words}; "
                                      "bind a verbalizer that has it")
            i = self.words.index(word)
            if c is not None and self.word_class[i] != c:
                raise VerbalizerError(f"{word!r} is a {self.labels[self.word_class[i]]!r} word here, "
                                      f"not {self.labels[c]!r}")
            if i in picked:
                raise VerbalizerError(f"{word!r} is asked for twice")
            picked.append(i)
        empty = [label for c, label in enumerate(self.labels) if not any(self.word_class[i] == c for i in picked)]
        if empty:
            raise VerbalizerError(f"the subset leaves class(es) {empty} with no label word; keep at least one each")
        return BoundVerbalizer(self.labels, tuple(self.words[i] for i in picked), self.word_class[picked],
                               tuple(self.word_ids[i] for i in picked), aggregate, self.multi_token,
                               tuple(self.columns[i] for i in picked))


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
        if multi_token == "pet":
            raise VerbalizerError(
                "multi_token='pet' does not say which of PET's decodings to use: pass multi_token='parallel' "
                "(one pass, the sum of the pieces' log-probabilities) or multi_token='iterative' "
                "(PET's default: fill the most confident mask, run again)"
            )
        if multi_token not in MULTI_TOKEN_POLICIES:
            raise VerbalizerError(f"multi_token must be one of {MULTI_TOKEN_POLICIES}, not {multi_token!r}")
        if not isinstance(label_words, Mapping) or not label_words:
            raise VerbalizerError("a verbalizer needs a dict of classes to label words, e.g. "
                                  "{'negative': ['terrible'], 'positive': ['great']}")
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
        return f"Verbalizer({self.label_words!r}, aggregate={self.aggregate!r}, multi_token={self.multi_token!r})"

    def to_dict(self) -> dict:
        """The verbalizer as plain data: ``{"label_words": ..., "aggregate": ..., "multi_token": ...}``."""
        return {"label_words": {k: list(v) for k, v in self.label_words.items()}, "aggregate": self.aggregate,
                "multi_token": self.multi_token}

    def save(self, path: str | Path) -> Path:
        """Write the verbalizer to a small JSON file (``Verbalizer.load`` reads it back)."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Verbalizer:
        """Read a verbalizer written by ``save``."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no verbalizer file {path}; write one with Verbalizer.save(path)")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(data["label_words"], aggregate=data.get("aggregate", "mean_logprob"),
                       multi_token=data.get("multi_token", "error"))
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as err:
            raise VerbalizerError(f"{path} is not a verbalizer file written by Verbalizer.save ({err!r})") from None

    def bind(self, tokenizer) -> BoundVerbalizer:
        """Check every label word against ``tokenizer`` and return their token ids.

        Refuses a word unknown to the vocabulary, a split word under ``multi_token="error"``,
        and two words (in one class or two) that have the same token ids.
        """
        words, classes, ids = [], [], []
        seen: dict[tuple[int, ...], tuple[str, str]] = {}
        for c, (label, label_words) in enumerate(self.label_words.items()):
            for w in label_words:
                pieces = tokenizer.tokenize(" " + w)  # leading space: BPE vocabularies mark word starts
                piece_ids = tuple(tokenizer.convert_tokens_to_ids(pieces))
                if not pieces or tokenizer.unk_token_id in piece_ids:
                    raise VerbalizerError(f"label word {w!r} ({label}) is unknown to the vocabulary ({pieces})")
                if len(pieces) > 1 and self.multi_token == "error":
                    raise VerbalizerError(
                        f"label word {w!r} ({label}) is split by the vocabulary into {len(pieces)} pieces "
                        f"{pieces}; one mask can only hold one piece. Use a word the vocabulary keeps "
                        "whole, or pass multi_token='parallel' or multi_token='iterative' to score all its "
                        "pieces with several masks (two of PET's decodings)."
                    )
                if piece_ids in seen:
                    other, other_label = seen[piece_ids]
                    where = (f"in class {label!r}" if other_label == label
                             else f"in classes {other_label!r} and {label!r}")
                    same = "is given twice" if other == w else f"and {other!r} are the same tokens {pieces}"
                    raise VerbalizerError(
                        f"label word {w!r} {same} {where}; one set of token ids can only stand for one "
                        "class once. Remove one of them"
                    )
                seen[piece_ids] = (w, label)
                words.append(w)
                classes.append(c)
                ids.append(piece_ids)
        return BoundVerbalizer(self.labels, tuple(words), np.asarray(classes), tuple(ids), self.aggregate,
                               self.multi_token)


def bind(verbalizer: Verbalizer | BoundVerbalizer, tokenizer) -> BoundVerbalizer:
    """Return ``verbalizer`` bound to ``tokenizer``: a ``Verbalizer`` is bound (checked);
    a ``BoundVerbalizer`` is returned as is after checking that its words have the same
    token ids under ``tokenizer`` (a verbalizer bound to another tokenizer is refused)."""
    if isinstance(verbalizer, Verbalizer):
        return verbalizer.bind(tokenizer)
    if isinstance(verbalizer, BoundVerbalizer):
        for word, ids in zip(verbalizer.words, verbalizer.word_ids):
            if tuple(tokenizer.convert_tokens_to_ids(tokenizer.tokenize(" " + word))) != ids:
                raise VerbalizerError(f"this verbalizer was bound to another tokenizer ({word!r} has other ids "
                                      "here); pass the Verbalizer itself")
        return verbalizer
    raise TypeError(f"expected a Verbalizer or a BoundVerbalizer, got {type(verbalizer).__name__}; "
                    "e.g. Verbalizer({'negative': ['terrible'], 'positive': ['great']})")
