"""Label words found from data: rank the vocabulary at [MASK] by how much more likely a word
is under one class than under the others.

From K labelled examples per class, each text is filled into the template and the model
gives a probability for every vocabulary word at the mask. For class ``c`` and word ``w``:

- ``P(w | c)`` is the mean of ``p([MASK] = w | x)`` over the examples ``x`` of class ``c``;
- the word's score for ``c`` is the log-likelihood ratio
  ``log P(w | c) - log P(w | not c)``, with ``P(w | not c)`` the mean over the examples of
  the other classes. This is the likelihood ratio of PETAL (Schick, Schmid & Schuetze 2020,
  "Automatically Identifying Words That Can Serve as Labels for Few-Shot Text
  Classification", https://arxiv.org/abs/2010.13641).
- Before ranking, each class keeps only its ``candidates`` most likely words by
  ``log P(w | c)``, as LM-BFF prunes the vocabulary to the top words of each class (Gao,
  Fisch & Chen 2021, "Making Pre-trained Language Models Better Few-shot Learners",
  https://arxiv.org/abs/2012.15723). Without that step the ratio favours rare tokens that
  the model almost never predicts for either class.

Only whole words that are one token are considered: for a WordPiece vocabulary, tokens
that do not start with ``##``; for a byte-level BPE vocabulary (RoBERTa), tokens with the
leading-space marker; in both cases the word, as ``Verbalizer.bind`` tokenizes it (with a
leading space), must come back as that one token, and must be alphabetic.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .finetune import _check_examples
from .inputs import TextInput
from .scorer import MaskScorer
from .template import Template
from .verbalizer import Verbalizer

__all__ = ["LabelWordRanking", "rank_label_words", "search_label_words", "whole_word_tokens"]


@functools.lru_cache(maxsize=8)
def whole_word_tokens(tokenizer) -> tuple[np.ndarray, tuple[str, ...]]:
    """Token ids (m,) of the vocabulary's alphabetic whole words that are one token, and the words.

    A token qualifies when its text, given to the tokenizer with a leading space (as
    ``Verbalizer.bind`` does), comes back as exactly that token.
    """
    special = set(tokenizer.all_special_ids)
    ids, words = [], []
    for token, i in sorted(tokenizer.get_vocab().items(), key=lambda item: item[1]):
        if i in special:
            continue
        word = tokenizer.convert_tokens_to_string([token]).strip()
        if not word.isalpha():
            continue
        if tokenizer.convert_tokens_to_ids(tokenizer.tokenize(" " + word)) == [i]:
            ids.append(i)
            words.append(word)
    if not ids:
        raise ValueError("the tokenizer's vocabulary has no alphabetic whole-word tokens to search")
    return np.asarray(ids), tuple(words)


@dataclass(frozen=True)
class LabelWordRanking:
    """Candidate label words per class, best first.

    ``words[c]``, ``ratio[c]`` and ``logp[c]`` are aligned: the word, its log-likelihood ratio
    ``log P(w | c) - log P(w | not c)`` and ``log P(w | c)``.
    """

    labels: tuple[str, ...]
    words: tuple[tuple[str, ...], ...]
    ratio: tuple[np.ndarray, ...]
    logp: tuple[np.ndarray, ...]

    def verbalizer(self, words_per_class: int = 1, aggregate: str = "mean_logprob") -> Verbalizer:
        """The top ``words_per_class`` words of each class as a ``Verbalizer``."""
        if isinstance(words_per_class, bool) or not isinstance(words_per_class, (int, np.integer)) \
                or words_per_class < 1:
            raise ValueError(f"words_per_class must be a whole number of at least 1, got {words_per_class!r}")
        short = [label for label, ws in zip(self.labels, self.words) if len(ws) < words_per_class]
        if short:
            raise ValueError(f"class(es) {short} have fewer than {words_per_class} candidate words; "
                             "ask for fewer words per class or raise candidates")
        return Verbalizer({label: list(ws[:words_per_class]) for label, ws in zip(self.labels, self.words)},
                          aggregate=aggregate)


def _mask_probs(model, tokenizer, template: Template, texts: list, max_length: int, batch_size: int,
                columns: np.ndarray) -> np.ndarray:
    """Probabilities (n, len(columns)) of the given tokens at each filled prompt's mask."""
    scorer = MaskScorer(model, tokenizer, batch_size=batch_size, max_length=max_length, progress=False)
    prompts = template.encode_batch(tokenizer, texts, scorer.max_length, 1)
    picked = torch.as_tensor(columns, device=scorer.device)
    rows = scorer.score_masks(prompts, lambda lp: lp[:, picked].exp())
    return np.concatenate([r[0] for r in rows])


def rank_label_words(model, tokenizer, template: Template | str, texts: Sequence[TextInput],
                     labels: Sequence[int], label_names: Sequence[str], *, candidates: int = 100,
                     keep: int = 50, max_length: int = 128, batch_size: int = 32) -> LabelWordRanking:
    """Rank whole-word tokens as label words for each class (see the module docstring).

    Args:
        template: a ``Template`` (or its string) with one ``{mask}``; texts fill its text slot.
        texts, labels: n labelled examples; ``labels[i]`` indexes ``label_names``.
        candidates: per class, only the ``candidates`` words with the highest ``log P(w | c)``
            are ranked (LM-BFF's pruning).
        keep: how many ranked words per class to return. A word goes to the class where its
            ratio is highest, so no word stands for two classes.

    Returns:
        A ``LabelWordRanking``: per class, words by decreasing log-likelihood ratio.
    """
    template = template if isinstance(template, Template) else Template(template)
    names = [str(n) for n in label_names]
    if len(names) < 2 or len(set(names)) != len(names):
        raise ValueError(f"label_names must be at least two different class names, got {list(label_names)}")
    texts, labels, n_classes = _check_examples(texts, labels, len(names), names)
    for name, value in (("candidates", candidates), ("keep", keep)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a whole number of at least 1, got {value!r}")
    ids, words = whole_word_tokens(tokenizer)
    probs = _mask_probs(model, tokenizer, template, texts, max_length, batch_size, ids)  # (n, m)
    tiny = np.finfo(np.float64).tiny
    class_p = np.stack([probs[labels == c].mean(axis=0) for c in range(n_classes)]).astype(np.float64)
    logp = np.log(class_p + tiny)                                               # (C, m)
    other = np.stack([probs[labels != c].mean(axis=0) for c in range(n_classes)]).astype(np.float64)
    ratio = logp - np.log(other + tiny)
    owner = ratio.argmax(axis=0)  # each word belongs to the class it favours most
    out_words, out_ratio, out_logp = [], [], []
    for c in range(n_classes):
        pool = np.argsort(-logp[c], kind="stable")[:candidates]
        pool = pool[owner[pool] == c]
        best = pool[np.lexsort((pool, -ratio[c, pool]))][:keep]  # ties: lower token id first
        out_words.append(tuple(words[j] for j in best))
        out_ratio.append(ratio[c, best])
        out_logp.append(logp[c, best])
    return LabelWordRanking(tuple(names), tuple(out_words), tuple(out_ratio), tuple(out_logp))


def search_label_words(model, tokenizer, template: Template | str, texts: Sequence[TextInput],
                       labels: Sequence[int], label_names: Sequence[str], words_per_class: int = 1, *,
                       candidates: int = 100, aggregate: str = "mean_logprob", max_length: int = 128,
                       batch_size: int = 32) -> Verbalizer:
    """Find label words from labelled examples: a ``Verbalizer`` with classes in ``label_names`` order.

    Each class gets the ``words_per_class`` whole-word tokens with the highest log-likelihood
    ratio ``log P(w | c) - log P(w | not c)`` at the template's mask, among its ``candidates``
    most likely words (PETAL's ratio, Schick, Schmid & Schuetze 2020; LM-BFF's pruning, Gao
    et al. 2021). ``labels[i]`` is the index in ``label_names`` of ``texts[i]``'s class.
    ``rank_label_words`` gives the whole ranking. Save the result with ``Verbalizer.save``.
    """
    if isinstance(words_per_class, bool) or not isinstance(words_per_class, (int, np.integer)) \
            or words_per_class < 1:
        raise ValueError(f"words_per_class must be a whole number of at least 1, got {words_per_class!r}")
    ranking = rank_label_words(model, tokenizer, template, texts, labels, label_names, candidates=candidates,
                               keep=max(words_per_class, 1), max_length=max_length, batch_size=batch_size)
    return ranking.verbalizer(words_per_class, aggregate=aggregate)
