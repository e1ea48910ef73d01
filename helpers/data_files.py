"""The data files on disk: where they live, their layout, and one reader per format.

A data folder holds each split as one file (``DATA_FILES[dataset][split]``: ``sst2/dev.tsv``,
``imdb/test.csv``, ``conll2003/test.txt``, ...), the layout of ``../shared/data``. The readers
turn a file into ``LabelledTexts`` or ``TaggedSentence`` objects and refuse a malformed file with
``DataFormatError`` (``path:line: expected ..., got ...``). Finding a split (data folder, cache,
hub) is ``helpers.data``'s job; writing a download in this layout is ``helpers.hub_data``'s.
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
    "read_conll",
    "read_imdb",
    "read_sst2",
    "sha256_file",
]

SENTIMENT_LABELS = ("negative", "positive")
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


def sha256_file(path: str | Path) -> str:
    """The SHA-256 of a file as hex, read in 1 MiB blocks (data files' sums, the GPU job's bundle)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
