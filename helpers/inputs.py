"""One rule for what counts as "texts" everywhere in the package.

A single ``str`` is ONE text (never a sequence of characters); a single ``Mapping`` (the
slot values of a multi-slot template, ``{"sentence": ..., "span": ...}``) is one text too.
A list, tuple or 1-D numpy array of them is many. Anything else, or ``None`` among the
texts, is a ``TypeError`` that says what to pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["TextInput", "as_texts"]

#: One text: a string, or the slot values of a multi-slot template.
TextInput = str | Mapping[str, str]


def _describe(value: Any) -> str:
    return "None" if value is None else f"a {type(value).__name__} ({value!r:.60})"


def as_texts(texts: Any, *, what: str = "texts", mappings: bool = True) -> tuple[list, bool]:
    """Return ``(list of texts, whether a single text was passed)``.

    ``texts`` is one text (a ``str``, or with ``mappings=True`` a ``Mapping`` of slot values)
    or a sequence of them (list, tuple, 1-D numpy array). ``what`` names the argument in
    error messages. Raises ``TypeError`` for anything else, naming the first bad item.
    """
    kinds = "a str or a dict of slot values" if mappings else "a str"
    one = (str, Mapping) if mappings else (str,)
    if isinstance(texts, one):
        return [texts], True
    if isinstance(texts, np.ndarray):
        if texts.ndim != 1:
            raise TypeError(f"{what} must be one text or a 1-D sequence of texts; got an array of shape {texts.shape}")
        texts = texts.tolist()
    elif isinstance(texts, (bytes, bytearray)) or not isinstance(texts, Sequence):
        raise TypeError(
            f"{what} must be one text ({kinds}) or a list of them; got {_describe(texts)}. "
            "Pass e.g. \"a review\" or [\"first review\", \"second review\"]"
            + (" (a generator or set: wrap it in list(...))" if hasattr(texts, "__iter__") else "")
        )
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, one):
            raise TypeError(f"{what}[{i}] is {_describe(text)}; every item must be {kinds}. "
                            "Drop or replace missing texts before scoring")
    return texts, False
