"""Training text for the default model: the data sets' *train* splits plus dictionary prose.

Sources (never a validation or test split):

- IMDB train reviews, SST-2 train phrases of 3+ words (deduplicated), CoNLL-2003 train
  sentences, read by ``helpers.data`` from the local data folder;
- WordNet 3.0 (Miller 1995; Debian ``wordnet-base``, WordNet 3.0 licence, permissive): each
  synset's definition, examples and "is a kind of" relations written as sentences;
- GCIDE, the GNU Collaborative International Dictionary of English (Debian ``dict-gcide``,
  GPL-2+; mostly Webster's 1913): each entry's definitions and quotations as prose.
"""

from __future__ import annotations

import gzip
import random
import re
from pathlib import Path

import torch

from helpers.data import load_conll2003, load_imdb, load_sst2

HELDOUT_REVIEWS = 250
DEBIAN_WORDNET = Path("/usr/share/wordnet")
DEBIAN_GCIDE = Path("/usr/share/dictd/gcide.dict.dz")


def _article(phrase: str) -> str:
    return "an" if phrase[:1].lower() in "aeio" else "a"


def wordnet_documents(folder: Path) -> list[str]:
    """English prose from the WordNet 3.0 database files in ``folder``: one short document per synset.

    Each synset gives its definition ("paris: national capital of france"), its usage
    examples, and for nouns what it is a kind or an instance of ("a poodle is a kind of dog",
    "paris is a national capital"). Raises ``FileNotFoundError`` when the files are missing.
    """
    folder = Path(folder)
    files = {"n": folder / "data.noun", "a": folder / "data.adj", "v": folder / "data.verb"}
    missing = [str(f) for f in files.values() if not f.is_file()]
    if missing:
        raise FileNotFoundError(
            f"WordNet database files missing: {', '.join(missing)}; `apt-get install wordnet-base`, "
            "pass the folder that holds data.noun, or leave WordNet out (--no-wordnet)"
        )
    synsets = {}
    for pos, path in files.items():
        for line in path.read_text(encoding="latin-1").splitlines():
            if line.startswith("  "):
                continue  # licence header
            head, _, gloss = line.partition(" | ")
            fields = head.split()
            n_words = int(fields[3], 16)
            words = [re.sub(r"\(\w+\)$", "", w).replace("_", " ") for w in fields[4:4 + 2 * n_words:2]]
            n_pointers = int(fields[4 + 2 * n_words])
            pointers = [fields[5 + 2 * n_words + 4 * i: 9 + 2 * n_words + 4 * i] for i in range(n_pointers)]
            synsets[(pos, fields[0])] = (words, pointers, gloss.strip())
    docs = []
    for (pos, _), (words, pointers, gloss) in synsets.items():
        examples = re.findall(r'"([^"]+)"', gloss)
        definition = re.sub(r'"[^"]*"', "", gloss).split(";")[0].strip(" ;")
        w = words[0]
        if pos == "n":
            lines = [f"{w}: {definition}."]
            for symbol, offset, target_pos, _ in pointers:
                if symbol in ("@", "@i") and (target_pos, offset) in synsets:
                    kind = synsets[(target_pos, offset)][0][0]
                    lines.append(f"{w} is {_article(kind)} {kind}." if symbol == "@i"
                                 else f"{_article(w)} {w} is a kind of {kind}.")
        elif pos == "a":
            lines = [f"{w} means {definition}."]
        else:
            lines = [f"to {w} means to {definition}."]
        docs.append(" ".join(lines + [e.strip() for e in examples]))
    return docs


_GCIDE_DROP = [
    re.compile(r"\\[^\\\n]*\\"),                      # pronunciation \Ac*quaint"ance\
    re.compile(r"\[[^\]]*\]"),                         # etymology, [Obs.], [1913 Webster]
    re.compile(r"--\s?[A-Z][\w.&' ]{0,40}?\.(?=\s|$)"),  # quotation sources: --Shak.
    re.compile(r"(?m)^\s*(Syn|Usage):.*?(?=\n\s*\n|\Z)", re.S),  # synonym lists
    re.compile(r"(?m)^\s*\d+\.\s"),                    # sense numbers
]


def gcide_documents(path: Path) -> list[str]:
    """Prose from the dictd file of GCIDE at ``path``: one document per headword entry.

    Pronunciations, etymologies, source tags, quotation sources and synonym lists are cut;
    definitions and quotations stay ("acquaintance: a state of being acquainted, ...").
    Raises ``FileNotFoundError`` when the file is missing.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: `apt-get install dict-gcide`, pass the path of gcide.dict.dz, or leave GCIDE out"
        )
    text = gzip.open(path).read().decode("utf-8", errors="replace")
    docs = []
    # An entry starts with its headword at column 0; everything indented belongs to it.
    for entry in re.split(r"\n(?=\S)", text):
        head, _, body = entry.partition(" ")
        if head.startswith("00-database") or not body.strip() or not head[:1].isalpha():
            continue
        for pattern in _GCIDE_DROP:
            body = pattern.sub(" ", body)
        body = re.sub(r"^[\s,]*(?:(?:[a-z]{1,5}\.)\s*(?:&\s*)?)+", "", body)  # part of speech: n., v. t.
        body = re.sub(r"\s+", " ", body.replace("{", "").replace("}", "")).strip(" ,;")
        if len(body.split()) >= 4:
            docs.append(f"{head.lower()}: {body}")
    return docs


def corpus_documents(
    seed: int, wordnet: Path | None = DEBIAN_WORDNET, gcide: Path | None = None
) -> tuple[dict[str, list[str]], list[str]]:
    """Return training documents by source and the held-out IMDB *train* reviews.

    ``wordnet`` / ``gcide``: the WordNet database folder and the GCIDE dictd file, or None
    to leave that source out.
    """
    reviews = list(load_imdb("train").texts)
    random.Random(seed).shuffle(reviews)
    phrases = sorted({t for t in load_sst2("train").texts if len(t.split()) >= 3})
    sentences = [" ".join(s.tokens) for s in load_conll2003("train")]
    docs = {"imdb": reviews[HELDOUT_REVIEWS:], "sst2": phrases, "conll": sentences}
    for name, where, read in (("wordnet", wordnet, wordnet_documents), ("gcide", gcide, gcide_documents)):
        if where is not None:
            found = read(where)
            random.Random(seed).shuffle(found)
            docs[name] = found
    return docs, reviews[:HELDOUT_REVIEWS]


def token_stream(tokenizer, docs: list[str]) -> list[int]:
    """Token ids of ``docs`` (no [CLS]), each document followed by [SEP]."""
    stream: list[int] = []
    for ids in tokenizer(docs, add_special_tokens=False)["input_ids"]:
        stream.extend(ids)
        stream.append(tokenizer.sep_token_id)
    return stream


def blocks_from_stream(stream: torch.Tensor, seq_len: int, cls_id: int, sep_id: int) -> torch.Tensor:
    """Cut a 1-D id stream into (n, seq_len) blocks ``[CLS] ... [SEP]``; the tail that does not fill one is dropped."""
    body = seq_len - 2
    n = len(stream) // body
    blocks = stream[: n * body].view(n, body)
    return torch.cat([torch.full((n, 1), cls_id), blocks, torch.full((n, 1), sep_id)], dim=1)


def pack(tokenizer, docs: list[str], seq_len: int) -> torch.Tensor:
    """Tokenize ``docs`` into one stream ([SEP] between docs) cut into (n, seq_len) [CLS] ... [SEP] blocks."""
    stream = torch.tensor(token_stream(tokenizer, docs), dtype=torch.long)
    return blocks_from_stream(stream, seq_len, tokenizer.cls_token_id, tokenizer.sep_token_id)
