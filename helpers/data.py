"""Labelled data sets: SST-2, IMDB and CoNLL-2003, read from a local folder.

Each split is one file in a fixed layout (``sst2/dev.tsv``, ``imdb/test.csv``,
``conll2003/test.txt``, ...; see ``DATA_FILES``). A loader looks for it in

1. the data folder: ``$PROMPTLAB_DATA`` when set, else ``../shared/data`` beside the
   project root;
2. the download cache (``cache_dir()``), where an earlier first use left it;
3. the Hugging Face hub: ``helpers.hub_data`` downloads the split, writes it into the cache
   in the same layout, and the loader reads that file like any other.

So every source goes through the same reader and gives the same texts, labels and tags.
A malformed file raises ``DataFormatError`` naming ``path:line``; a split found nowhere
raises ``DataNotFoundError`` saying how to get it. The layout, the readers and the two
containers (``LabelledTexts``, ``TaggedSentence``) are in ``helpers.data_files``; they are
importable from here too.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np

from .data_files import (
    DATA_FILES,
    DataFormatError,
    DataNotFoundError,
    LabelledTexts,
    TaggedSentence,
    cache_dir,
    data_dir,
    read_conll,
    read_imdb,
    read_sst2,
)

__all__ = [
    "DATA_FILES",
    "DataFormatError",
    "DataNotFoundError",
    "LabelledTexts",
    "TaggedSentence",
    "cache_dir",
    "data_dir",
    "load_conll2003",
    "load_imdb",
    "load_sst2",
    "read_conll",
    "read_imdb",
    "read_sst2",
]

_SPLIT_ALIASES = {"dev": "validation", "valid": "validation", "val": "validation"}


def _split(split: str, dataset: str) -> str:
    allowed = tuple(DATA_FILES[dataset])
    name = _SPLIT_ALIASES.get(split, split)
    if name not in allowed:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(allowed)}")
    return name


def _find(dataset: str, split: str) -> Path:
    """The file holding ``dataset``'s ``split``: data folder, else cache, else downloaded now."""
    relative = DATA_FILES[dataset][split]
    for folder in (data_dir(), cache_dir()):
        if (folder / relative).is_file():
            return folder / relative
    # Imported only here, when no file is local: importing it with the package would make
    # `python -m helpers.hub_data download DIR` warn that the module was already imported.
    from .hub_data import fetch_split

    return fetch_split(dataset, split, cache_dir(), missing=data_dir() / relative)


def load_sst2(split: str = "validation") -> LabelledTexts:
    """Load GLUE SST-2 ('train' or 'validation'); labels shape ``(n,)``, 1 is positive."""
    return read_sst2(_find("sst2", _split(split, "sst2")))


_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)


def clean_review(text: str) -> str:
    """Replace IMDB's ``<br />`` markup with spaces and collapse whitespace."""
    return " ".join(_BR.sub(" ", text).split())


def load_imdb(split: str = "test", n: int | None = None, seed: int = 0) -> LabelledTexts:
    """Load IMDB reviews, cleaned; with ``n``, a seeded sample balanced between the two classes.

    The sample depends only on the reviews' texts and ``seed``, never on the file's row order:
    each class's reviews are ranked by a seeded hash of their text, the first ``n // 2`` negatives
    and ``n - n // 2`` positives are kept, and the sample comes in hash order (classes mixed).
    So the ``../shared/data`` copy and a download from the hub (which stores the rows in another
    order) give the same sample.
    """
    name = _split(split, "imdb")
    raw = read_imdb(_find("imdb", name))
    texts, labels = [clean_review(t) for t in raw.texts], raw.labels.tolist()
    index = list(range(len(texts)))
    if n is not None:
        if n > len(texts):
            raise ValueError(f"n={n} is more than the {len(texts)} reviews in the {name} split")
        # The key is the hash alone (no row number), so even a text that occurs twice lands in the
        # same place whatever the row order; sorting is stable and negatives come first on a tie.
        rank = {i: _seeded_hash(texts[i], seed) for i in index}
        by_class = [sorted((i for i in index if labels[i] == c), key=rank.get) for c in (0, 1)]
        index = sorted(by_class[0][: n // 2] + by_class[1][: n - n // 2], key=rank.get)
    return LabelledTexts([texts[i] for i in index], np.asarray([labels[i] for i in index], dtype=int))


def _seeded_hash(text: str, seed: int) -> bytes:
    """A sort key for ``text`` that changes with ``seed`` and with nothing else."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8, key=str(seed).encode()).digest()


CONLL_TYPES = ("PER", "LOC", "ORG", "MISC")


def load_conll2003(split: str = "test") -> list[TaggedSentence]:
    """Load CoNLL-2003 English NER sentences with IOB2 tags (PER, LOC, ORG, MISC)."""
    return read_conll(_find("conll2003", _split(split, "conll2003")))
