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
raises ``DataNotFoundError`` saying how to get it.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

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

SENTIMENT_LABELS = ("negative", "positive")
_SPLIT_ALIASES = {"dev": "validation", "valid": "validation", "val": "validation"}

#: Where each split lives inside a data folder: ``DATA_FILES[dataset][split]``.
DATA_FILES: dict[str, dict[str, str]] = {
    "sst2": {"train": "sst2/train.tsv", "validation": "sst2/dev.tsv"},
    "imdb": {"train": "imdb/train.csv", "test": "imdb/test.csv"},
    "conll2003": {"train": "conll2003/train.txt", "validation": "conll2003/valid.txt",
                  "test": "conll2003/test.txt"},
}

SST2_HEADER = ["sentence", "label"]
IMDB_HEADER = ["label", "rating", "id", "text"]


class DataNotFoundError(FileNotFoundError):
    """A data set is neither in the local data folder nor in the cache, nor reachable on the hub."""


class DataFormatError(ValueError):
    """A data file does not follow its format; the message reads ``path:line: expected ..., got ...``."""

    def __init__(self, path: Path | str, line: int, expected: str, got: str):
        super().__init__(f"{path}:{line}: expected {expected}, got {got}")
        self.path, self.line = Path(path), line


@dataclass(eq=False)
class LabelledTexts:
    """Texts with integer labels; ``labels`` has shape ``(n,)`` and ``label_names[i]`` names label ``i``.

    Two are equal when their texts, labels and label names are (``==`` on the arrays would be
    ambiguous); they are mutable, so not hashable.
    """

    texts: list[str]
    labels: np.ndarray
    label_names: tuple[str, ...] = SENTIMENT_LABELS

    def __len__(self) -> int:
        return len(self.texts)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LabelledTexts):
            return NotImplemented
        return (self.texts == other.texts and tuple(self.label_names) == tuple(other.label_names)
                and np.array_equal(self.labels, other.labels))

    __hash__ = None  # type: ignore[assignment]


@dataclass
class TaggedSentence:
    """One CoNLL sentence: tokens and their IOB2 tags (``len(tags) == len(tokens)``)."""

    tokens: list[str]
    tags: list[str] = field(default_factory=list)


def data_dir() -> Path:
    """Return the local data folder: ``$PROMPTLAB_DATA`` or ``../shared/data`` beside the project."""
    if os.environ.get("PROMPTLAB_DATA"):
        return Path(os.environ["PROMPTLAB_DATA"])
    project_root = Path(__file__).resolve().parent.parent
    return project_root.parent / "shared" / "data"


def cache_dir() -> Path:
    """Return where first-use downloads are kept, in the data folder's layout.

    ``$PROMPTLAB_CACHE`` when set, else ``$XDG_CACHE_HOME/promptlab/data``, else
    ``~/.cache/promptlab/data``.
    """
    if os.environ.get("PROMPTLAB_CACHE"):
        return Path(os.environ["PROMPTLAB_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "promptlab" / "data"


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
    from .hub_data import fetch_split  # only needed, and only imported, when no file is local

    return fetch_split(dataset, split, cache_dir(), missing=data_dir() / relative)


def _shorten(text: str, width: int = 60) -> str:
    return repr(text if len(text) <= width else text[:width] + "...")


def read_sst2(path: Path | str) -> LabelledTexts:
    """Read an SST-2 TSV file (header ``sentence<TAB>label``; label 0 negative, 1 positive).

    Sentences are stripped of surrounding white space (GLUE's end in a space).
    """
    path = Path(path)
    texts, labels = [], []
    with path.open(encoding="utf-8", newline="") as f:
        header = f.readline()
        if header.rstrip("\r\n").split("\t") != SST2_HEADER:
            raise DataFormatError(path, 1, "the header 'sentence<TAB>label'",
                                  "an empty file" if not header else _shorten(header.rstrip("\r\n")))
        for number, line in enumerate(f, start=2):
            row = line.rstrip("\r\n")
            sentence, tab, label = row.rpartition("\t")
            if not tab or label not in ("0", "1") or not sentence.strip():
                raise DataFormatError(path, number, "'sentence<TAB>label' with a sentence and label 0 or 1",
                                      _shorten(row))
            texts.append(sentence.strip())
            labels.append(int(label))
    if not texts:
        raise DataFormatError(path, 2, "at least one 'sentence<TAB>label' row", "none")
    return LabelledTexts(texts, np.asarray(labels, dtype=int))


def read_imdb(path: Path | str) -> LabelledTexts:
    """Read an IMDB CSV file (header ``label,rating,id,text``; label 0 negative, 1 positive).

    Texts are returned as stored, ``<br />`` markup included; ``load_imdb`` cleans them.
    """
    path = Path(path)
    texts, labels = [], []
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header != IMDB_HEADER:
            raise DataFormatError(path, 1, "the header 'label,rating,id,text'",
                                  "an empty file" if header is None else _shorten(",".join(header)))
        start = reader.line_num + 1
        for row in reader:
            if len(row) != 4 or row[0] not in ("0", "1") or not row[3].strip():
                raise DataFormatError(path, start, "4 fields 'label,rating,id,text' with label 0 or 1 "
                                      "and a text",
                                      _shorten(",".join(row)))
            labels.append(int(row[0]))
            texts.append(row[3])
            start = reader.line_num + 1
    if not texts:
        raise DataFormatError(path, 2, "at least one review", "none")
    return LabelledTexts(texts, np.asarray(labels, dtype=int))


_IOB2_TAG = re.compile(r"(O|[BI]-\S+)")


def read_conll(path: Path | str) -> list[TaggedSentence]:
    """Read a CoNLL-2003 file: ``token POS chunk NER`` per line, IOB2 tags in the last column.

    A blank line ends a sentence; ``-DOCSTART-`` lines separate documents. An ``I-X`` tag
    must follow ``B-X`` or ``I-X`` (IOB2; the original CoNLL release is IOB1 and is refused).
    """
    path = Path(path)
    sentences: list[TaggedSentence] = []
    current = TaggedSentence([], [])
    previous = "O"
    number = 0
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            parts = line.split()
            if not parts or parts[0] == "-DOCSTART-":
                if current.tokens:
                    sentences.append(current)
                current, previous = TaggedSentence([], []), "O"
                continue
            tag = parts[-1]
            if len(parts) < 2 or not _IOB2_TAG.fullmatch(tag):
                raise DataFormatError(path, number, "'token POS chunk NER' ending in an IOB2 tag "
                                      "(O, B-TYPE or I-TYPE)", _shorten(line.rstrip("\r\n")))
            if tag.startswith("I-") and previous[2:] != tag[2:]:
                raise DataFormatError(path, number, f"B-{tag[2:]} or I-{tag[2:]} before {tag} (IOB2)",
                                      f"{tag} after {previous}")
            current.tokens.append(parts[0])
            current.tags.append(tag)
            previous = tag
    if current.tokens:
        sentences.append(current)
    if not sentences:
        raise DataFormatError(path, max(number, 1), "at least one 'token POS chunk NER' line",
                              "an empty file" if number == 0 else "no sentence")
    return sentences


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
        rank = {i: (_seeded_hash(texts[i], seed), i) for i in index}
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
