"""The memorisation baseline: every entity string seen in training gets its most frequent training type.

On CoNLL-2003 many test names also occur in the training split, so this no-model rival is the
honest one to beat (Tjong Kim Sang & De Meulder 2003 report such a baseline for the shared task).
"""

from __future__ import annotations

import collections
from collections.abc import Mapping, Sequence

from .decoding import bio_from_entities
from .scoring import entities_from_bio


def memorised_types(sentences: Sequence) -> dict[str, str]:
    """The memorisation baseline's lexicon: each entity's surface string in ``sentences``
    (objects with ``.tokens`` and IOB2 ``.tags``, such as the training split) mapped to its
    most frequent type there; a tie goes to the type first in alphabetical order."""
    seen: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for s in sentences:
        for start, end, kind in entities_from_bio(s.tags):
            seen[" ".join(s.tokens[start:end])][kind] += 1
    return {text: min(counter, key=lambda k: (-counter[k], k)) for text, counter in seen.items()}


def memorisation_baseline(tokens: Sequence[str], memory: Mapping[str, str],
                          max_span_len: int | None = None) -> list[str]:
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
