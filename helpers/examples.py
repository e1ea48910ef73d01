"""Short film reviews written for this series (not from any data set), with their labels.

Notebooks 2 and 3 use them to compare templates and verbalizers on sentences a reader can
judge at a glance. Label 1 is positive, 0 negative; half are each.
"""

from __future__ import annotations

import numpy as np

from .data_files import LabelledTexts

__all__ = ["written_reviews"]

_POSITIVE = [
    "I really like the film a lot.",
    "A warm, funny story with a wonderful cast.",
    "The acting was superb from start to finish.",
    "One of the best films I have seen this year.",
    "Beautifully shot and deeply moving.",
    "I laughed all the way through.",
    "The plot kept me guessing until the very end.",
    "A clever script and a great soundtrack.",
    "My kids loved it and so did I.",
    "Charming, sweet and surprisingly smart.",
    "The director did an amazing job.",
    "I would happily watch it again tomorrow.",
    "An excellent thriller with real tension.",
    "The lead actress gives a brilliant performance.",
    "Pure joy from the first scene to the last.",
    "A touching film about friendship.",
    "Everything about this movie just works.",
    "The dialogue is sharp and the jokes land.",
    "It is a delight to watch.",
    "A gripping and memorable story.",
]
_NEGATIVE = [
    "This movie makes me very disgusted.",
    "A dull, slow and predictable story.",
    "The acting was wooden and the script was worse.",
    "One of the worst films I have seen this year.",
    "I fell asleep halfway through.",
    "The jokes fall flat every single time.",
    "A complete waste of two hours.",
    "The plot makes no sense at all.",
    "I wanted my money back.",
    "Boring, loud and far too long.",
    "The director clearly had no idea what to do.",
    "I will never watch it again.",
    "A lazy sequel with nothing new to say.",
    "The lead actor seems bored in every scene.",
    "Painful to sit through.",
    "The ending ruined whatever was left.",
    "Nothing about this movie works.",
    "The dialogue is clumsy and the characters are flat.",
    "It is a chore to watch.",
    "A messy and forgettable story.",
]


def written_reviews() -> LabelledTexts:
    """Return the 40 written reviews, positive and negative interleaved."""
    texts = [t for pair in zip(_POSITIVE, _NEGATIVE) for t in pair]
    labels = np.array([1, 0] * len(_POSITIVE))
    return LabelledTexts(texts, labels)
