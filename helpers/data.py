"""Labelled data sets: SST-2, IMDB and CoNLL-2003, read from a local folder.

The local folder is ``$PROMPTLAB_DATA`` when set, else ``../shared/data`` beside the
project root. When a file is not there, the loaders fall back to the Hugging Face
datasets hub (needs the ``datasets`` package and a network); if neither works they
raise ``DataNotFoundError`` saying what to do.
"""

from __future__ import annotations

import csv
import os
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "DataNotFoundError",
    "LabelledTexts",
    "TaggedSentence",
    "data_dir",
    "load_sst2",
    "load_imdb",
    "load_conll2003",
]

SENTIMENT_LABELS = ("negative", "positive")
_SPLIT_ALIASES = {"dev": "validation", "valid": "validation", "val": "validation"}


class DataNotFoundError(FileNotFoundError):
    """A data set is neither in the local data folder nor reachable on the hub."""


@dataclass
class LabelledTexts:
    """Texts with integer labels; ``label_names[i]`` names label ``i``."""

    texts: list[str]
    labels: np.ndarray
    label_names: tuple[str, ...] = SENTIMENT_LABELS

    def __len__(self) -> int:
        return len(self.texts)


@dataclass
class TaggedSentence:
    """One CoNLL sentence: tokens and their IOB2 tags."""

    tokens: list[str]
    tags: list[str] = field(default_factory=list)


def data_dir() -> Path:
    """Return the local data folder: ``$PROMPTLAB_DATA`` or ``../shared/data``."""
    if os.environ.get("PROMPTLAB_DATA"):
        return Path(os.environ["PROMPTLAB_DATA"])
    project_root = Path(__file__).resolve().parent.parent
    return project_root.parent / "shared" / "data"


def _split(split: str, allowed: tuple[str, ...]) -> str:
    name = _SPLIT_ALIASES.get(split, split)
    if name not in allowed:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(allowed)}")
    return name


def _local_file(*parts: str) -> Path | None:
    path = data_dir().joinpath(*parts)
    return path if path.is_file() else None


def _hub_dataset(name: str, config: str | None, split: str, local: Path):
    try:
        import datasets
    except ImportError:
        raise DataNotFoundError(
            f"{local} does not exist and the 'datasets' package is not installed. "
            "Put the data folder beside the project (../shared/data) or point "
            "$PROMPTLAB_DATA at it."
        ) from None
    try:
        return datasets.load_dataset(name, config, split=split)
    except Exception as err:  # any hub failure: offline, missing, renamed
        raise DataNotFoundError(
            f"{local} does not exist and loading {name!r} from the Hugging Face hub "
            f"failed ({type(err).__name__}: {err}). Point $PROMPTLAB_DATA at a folder "
            "laid out like ../shared/data."
        ) from err


def load_sst2(split: str = "validation") -> LabelledTexts:
    """Load GLUE SST-2 ('train' or 'validation'); label 1 is positive."""
    name = _split(split, ("train", "validation"))
    path = _local_file("sst2", "dev.tsv" if name == "validation" else "train.tsv")
    if path is None:
        rows = _hub_dataset("glue", "sst2", name, data_dir() / "sst2")
        return LabelledTexts(list(rows["sentence"]), np.asarray(rows["label"], dtype=int))
    texts, labels = [], []
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)
        for sentence, label in reader:
            texts.append(sentence.strip())
            labels.append(int(label))
    return LabelledTexts(texts, np.asarray(labels, dtype=int))


_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)


def clean_review(text: str) -> str:
    """Replace IMDB's ``<br />`` markup with spaces and collapse whitespace."""
    return " ".join(_BR.sub(" ", text).split())


def load_imdb(split: str = "test", n: int | None = None, seed: int = 0) -> LabelledTexts:
    """Load IMDB reviews; with ``n``, a seeded sample balanced between the two classes."""
    name = _split(split, ("train", "test"))
    path = _local_file("imdb", f"{name}.csv")
    if path is None:
        rows = _hub_dataset("imdb", None, name, data_dir() / "imdb")
        texts, labels = list(rows["text"]), list(rows["label"])
    else:
        texts, labels = [], []
        with path.open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                texts.append(row["text"])
                labels.append(int(row["label"]))
    texts = [clean_review(t) for t in texts]
    index = list(range(len(texts)))
    if n is not None:
        if n > len(texts):
            raise ValueError(f"n={n} is more than the {len(texts)} reviews in the {name} split")
        rng = random.Random(seed)
        by_class = [[i for i in index if labels[i] == c] for c in (0, 1)]
        index = rng.sample(by_class[0], n // 2) + rng.sample(by_class[1], n - n // 2)
        rng.shuffle(index)
    return LabelledTexts([texts[i] for i in index], np.asarray([labels[i] for i in index], dtype=int))


_CONLL_FILES = {"train": "train.txt", "validation": "valid.txt", "test": "test.txt"}
CONLL_TYPES = ("PER", "LOC", "ORG", "MISC")


def load_conll2003(split: str = "test") -> list[TaggedSentence]:
    """Load CoNLL-2003 English NER sentences with IOB2 tags (PER, LOC, ORG, MISC)."""
    name = _split(split, tuple(_CONLL_FILES))
    path = _local_file("conll2003", _CONLL_FILES[name])
    if path is None:
        rows = _hub_dataset("conll2003", None, name, data_dir() / "conll2003")
        tag_names = rows.features["ner_tags"].feature.names
        return [
            TaggedSentence(list(r["tokens"]), [tag_names[t] for t in r["ner_tags"]]) for r in rows
        ]
    sentences: list[TaggedSentence] = []
    current = TaggedSentence([], [])
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if not parts or parts[0] == "-DOCSTART-":
            if current.tokens:
                sentences.append(current)
            current = TaggedSentence([], [])
            continue
        current.tokens.append(parts[0])
        current.tags.append(parts[-1])
    if current.tokens:
        sentences.append(current)
    return sentences
