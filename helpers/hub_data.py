"""The data sets from the Hugging Face hub, written in the local data folder's layout.

``helpers.data`` calls ``fetch_split`` on first use when a split is in neither the data
folder nor the cache; ``python -m helpers.hub_data download DIR`` writes every split (and,
with ``--model``, a hub model) into ``DIR`` for a classroom without a network.

Each data set is read from Parquet files the hub serves (``huggingface_hub`` downloads them,
``pyarrow`` reads them) and converted into the local file format, labels and tags through the
hub's own class names stored with the files, so that ``helpers.data``'s readers read it like
the project's copy (``HUB_SOURCES`` says where each split is):

- SST-2: ``nyu-mll/glue`` @ main, ``sst2/``: sentence, label (names negative, positive);
- IMDB: ``stanfordnlp/imdb`` @ main, ``plain_text/``: text, label (names neg, pos);
- CoNLL-2003: ``eriktks/conll2003`` @ refs/convert/parquet: tokens, and pos_tags,
  chunk_tags, ner_tags as ids into each column's names.
"""

from __future__ import annotations

import argparse
import csv
import fnmatch
import io
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import hub
from .data_files import DATA_FILES, DataNotFoundError, cache_dir, read_conll, read_imdb, read_sst2, sha256_file

__all__ = ["HUB_SOURCES", "HubSource", "download", "fetch_split", "main"]

#: The versions pinned in pyproject.toml; the install hint names them.
REQUIRED_PACKAGES = {"huggingface_hub": "huggingface-hub==2.4.0", "pyarrow": "pyarrow==26.0.1"}


@dataclass
class HubSource:
    """Where a data set's splits are on the hub: ``patterns[split]`` matches its Parquet files."""

    repo_id: str
    revision: str
    patterns: dict[str, str]


HUB_SOURCES: dict[str, HubSource] = {
    "sst2": HubSource("nyu-mll/glue", "main", {
        "train": "sst2/train-*.parquet", "validation": "sst2/validation-*.parquet"}),
    "imdb": HubSource("stanfordnlp/imdb", "main", {
        "train": "plain_text/train-*.parquet", "test": "plain_text/test-*.parquet"}),
    # The repository's main branch holds a loading script, not data files; the hub's Parquet
    # conversion of it lives on this branch, one folder per split.
    "conll2003": HubSource("eriktks/conll2003", "refs/convert/parquet", {
        "train": "*/train/*.parquet", "validation": "*/validation/*.parquet",
        "test": "*/test/*.parquet"}),
}

_SENTIMENT = {"negative": 0, "neg": 0, "positive": 1, "pos": 1}


class HubError(RuntimeError):
    """The hub could not be asked, or did not have what was asked for."""


class HubFormatError(ValueError):
    """A hub file does not have the columns or class names this module converts."""


def _check_reachable() -> None:
    # huggingface_hub retries a refused connection for about 25 s; ask once, quickly, first.
    if not hub.hub_reachable():
        raise HubError(f"{hub.endpoint() or hub.DEFAULT_ENDPOINT} cannot be reached")


def _download_parquet(repo_id: str, revision: str, pattern: str, dest: Path) -> list[Path]:
    """Download the Parquet files of dataset ``repo_id`` at ``revision`` that match ``pattern``.

    The one function that talks to the hub for data; tests replace it with a fake.
    """
    from huggingface_hub import HfApi, hf_hub_download

    _check_reachable()
    try:
        names = HfApi(endpoint=hub.endpoint()).list_repo_files(repo_id, repo_type="dataset",
                                                            revision=revision)
        matching = sorted(n for n in names if fnmatch.fnmatch(n, pattern))
        if not matching:
            raise HubError(f"no file matching {pattern!r} in {repo_id}@{revision}")
        return [Path(hf_hub_download(repo_id, name, repo_type="dataset", revision=revision,
                                     local_dir=dest, endpoint=hub.endpoint())) for name in matching]
    except HubError:
        raise
    except Exception as err:  # offline, proxy, moved or renamed repository: all end here
        raise HubError(f"{type(err).__name__}: {err}") from err


def _ways_out(missing: str) -> str:
    return (f"Two ways out: (1) online: {missing}, then run again; the split is then downloaded "
            f"once and kept in {cache_dir()}. (2) offline: on a machine with a network run "
            "`python -m helpers.hub_data download DIR`, copy DIR here and set PROMPTLAB_DATA=DIR.")


_CONNECT = ("connect to the network (behind a proxy set HTTPS_PROXY; for a hub mirror set "
            "HF_ENDPOINT)")


class _Unavailable(Exception):
    """Why the hub cannot be used now (``reason``) and what fixes it (``fix``)."""

    def __init__(self, reason: str, fix: str):
        super().__init__(reason)
        self.reason, self.fix = reason, fix


def _require_packages() -> None:
    absent = []
    for module, pin in REQUIRED_PACKAGES.items():
        try:
            __import__(module)
        except ImportError:
            absent.append(pin)
    if absent:
        verb = "is" if len(absent) == 1 else "are"
        raise _Unavailable(f"the hub download needs {' and '.join(absent)}, which {verb} not installed",
                           f"`pip install {' '.join(absent)}` (or `pip install -e .` in the project)")
    if hub.offline_requested():
        raise _Unavailable("HF_HUB_OFFLINE is set, so the Hugging Face hub is not asked",
                           "unset HF_HUB_OFFLINE")


def _read_parquet(paths: list[Path]) -> tuple[dict[str, list], dict[str, Any]]:
    """Columns of the files, concatenated, and the ``datasets`` features stored in their schema."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.concat_tables([pq.read_table(p) for p in paths])
    meta = json.loads((table.schema.metadata or {}).get(b"huggingface", b"{}"))
    features = meta.get("info", {}).get("features", {})
    return {name: table.column(name).to_pylist() for name in table.column_names}, features


def _names(features: dict[str, Any], column: str) -> list[str] | None:
    """The class names of a label column, or of a list-of-labels column; None when not stored."""
    feature = features.get(column, {})
    if isinstance(feature, dict) and "feature" in feature:
        feature = feature["feature"]
    return feature.get("names") if isinstance(feature, dict) else None


def _column(columns: dict[str, list], name: str, source: str) -> list:
    if name not in columns:
        raise HubFormatError(f"{source} has no {name!r} column (columns: {', '.join(columns)})")
    return columns[name]


def _sentiment(columns: dict[str, list], features: dict[str, Any], source: str) -> list[int]:
    """Hub label ids mapped through the hub's names to 0 negative, 1 positive."""
    names = _names(features, "label")
    if not names or not set(names) <= set(_SENTIMENT):
        raise HubFormatError(f"{source}: expected label names negative/positive or neg/pos, "
                             f"got {names}")
    return [_SENTIMENT[names[i]] for i in _column(columns, "label", source)]


def _sst2_text(columns: dict[str, list], features: dict[str, Any], source: str) -> str:
    lines = ["sentence\tlabel"]
    for sentence, label in zip(_column(columns, "sentence", source),
                               _sentiment(columns, features, source), strict=True):
        if "\t" in sentence or "\n" in sentence:
            raise HubFormatError(f"{source}: a sentence holds a tab or a line break: {sentence!r}")
        lines.append(f"{sentence}\t{label}")
    return "\n".join(lines) + "\n"


def _imdb_text(columns: dict[str, list], features: dict[str, Any], source: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["label", "rating", "id", "text"])
    # The hub keeps neither the star rating nor the aclImdb file id: those fields stay empty.
    for text, label in zip(_column(columns, "text", source), _sentiment(columns, features, source),
                           strict=True):
        writer.writerow([label, "", "", text])
    return out.getvalue()


def _conll_text(columns: dict[str, list], features: dict[str, Any], source: str) -> str:
    ner_names = _names(features, "ner_tags")
    if not ner_names:
        raise HubFormatError(f"{source}: the names of 'ner_tags' are not stored with the file")
    pos_names, chunk_names = _names(features, "pos_tags"), _names(features, "chunk_tags")
    lines = []
    for tokens, pos, chunks, ner in zip(*(_column(columns, c, source) for c in
                                          ("tokens", "pos_tags", "chunk_tags", "ner_tags")),
                                        strict=True):
        if not tokens:
            continue
        for token, p, c, t in zip(tokens, pos, chunks, ner, strict=True):
            if not token or any(ch.isspace() for ch in token):
                raise HubFormatError(f"{source}: a token is empty or holds white space: {token!r}")
            lines.append(" ".join((token, pos_names[p] if pos_names else "-X-",
                                   chunk_names[c] if chunk_names else "-X-", ner_names[t])))
        lines.append("")
    return "\n".join(lines)


_CONVERTERS = {"sst2": _sst2_text, "imdb": _imdb_text, "conll2003": _conll_text}


def _fetch(dataset: str, split: str, folder: Path) -> Path:
    source = HUB_SOURCES[dataset]
    _require_packages()
    label = f"{source.repo_id}@{source.revision} {source.patterns[split]}"
    with tempfile.TemporaryDirectory(prefix="promptlab-hub-") as tmp:
        try:
            files = _download_parquet(source.repo_id, source.revision, source.patterns[split],
                                      Path(tmp))
        except HubError as err:
            raise _Unavailable(f"downloading {label} from the Hugging Face hub failed ({err})",
                               _CONNECT) from err
        columns, features = _read_parquet(files)
        text = _CONVERTERS[dataset](columns, features, label)
    target = Path(folder) / DATA_FILES[dataset][split]
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    partial.write_text(text, encoding="utf-8", newline="")
    partial.replace(target)  # a reader never sees half a file
    return target


def fetch_split(dataset: str, split: str, folder: Path, *, missing: Path | None = None) -> Path:
    """Download one split from the hub and write it into ``folder`` in the local layout.

    Returns the written file, ``folder / DATA_FILES[dataset][split]``. ``missing`` is the
    local file that was looked for. Raises ``DataNotFoundError`` naming both ways out (get
    the hub working, or a folder prepared by ``download``) when a package is missing or the
    hub cannot be reached, and ``HubFormatError`` when the hub's files changed shape.
    """
    try:
        return _fetch(dataset, split, folder)
    except _Unavailable as err:
        where = f"{missing} is not there" if missing else f"{dataset} {split} is not local"
        raise DataNotFoundError(f"{where}, and {err.reason}. {_ways_out(err.fix)}") from err


_READERS = {"sst2": read_sst2, "imdb": read_imdb, "conll2003": read_conll}


def _download_model(name: str, dest: Path) -> Path:
    """Download a hub model's config, tokenizer files and safetensors weights into ``dest``."""
    from huggingface_hub import snapshot_download

    _check_reachable()
    try:
        snapshot_download(name, local_dir=dest, endpoint=hub.endpoint(),
                          allow_patterns=["*.json", "*.txt", "*.model", "*.safetensors"])
    except Exception as err:
        raise HubError(f"{type(err).__name__}: {err}") from err
    if not any(dest.glob("*.safetensors")):
        raise HubError(f"{name} has no safetensors weights; this command fetches only those")
    return dest


def download(folder: Path | str, datasets: tuple[str, ...] = tuple(DATA_FILES),
             model: str | None = None) -> list[tuple[str, str, int]]:
    """Write every split of ``datasets`` into ``folder`` in the local layout, plus ``SHA256SUMS``.

    With ``model``, also a hub model into ``folder/models/<name>`` (``/`` in the name becomes
    ``--``; pass that folder to ``load_mlm``), its files summed too. Each data file is read
    back with the local readers; returns one ``(relative path, what, rows)`` per file.
    """
    folder = Path(folder)
    written = []
    for dataset in datasets:
        for split, relative in DATA_FILES[dataset].items():
            try:
                path = _fetch(dataset, split, folder)
            except _Unavailable as err:
                raise DataNotFoundError(f"{dataset} {split}: {err.reason}. Fix: {err.fix}, "
                                        "then run this command again.") from err
            rows = len(_READERS[dataset](path))
            written.append((relative, f"{dataset} {split}", rows))
    summed = [rel for rel, _, _ in written]
    if model:
        dest = folder / "models" / model.replace("/", "--")
        try:
            _download_model(model, dest)
        except HubError as err:
            raise DataNotFoundError(f"downloading the model {model} failed ({err}). Fix: "
                                    f"{_CONNECT}, then run this command again") from err
        written.append((dest.relative_to(folder).as_posix(), f"model {model}", 0))
        summed += [p.relative_to(folder).as_posix() for p in dest.rglob("*")
                   if p.is_file() and ".cache" not in p.relative_to(dest).parts]
    lines = [f"{sha256_file(folder / rel)}  {rel}" for rel in sorted(summed)]
    (folder / "SHA256SUMS").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return written


def main(argv: list[str] | None = None) -> int:
    """``python -m helpers.hub_data download DIR [--only sst2 imdb] [--model NAME]``."""
    parser = argparse.ArgumentParser(
        prog="python -m helpers.hub_data",
        description="Prepare a data folder for machines without a network: set PROMPTLAB_DATA=DIR there.")
    commands = parser.add_subparsers(dest="command", required=True)
    get = commands.add_parser("download", help="write SST-2, IMDB and CoNLL-2003 into DIR")
    get.add_argument("folder", type=Path, metavar="DIR")
    get.add_argument("--only", nargs="+", choices=tuple(DATA_FILES), default=tuple(DATA_FILES),
                     help="only these data sets")
    get.add_argument("--model", help="also download this hub model (e.g. bert-base-uncased) "
                     "into DIR/models/; the offline default model needs nothing")
    args = parser.parse_args(argv)
    try:
        written = download(args.folder, tuple(args.only), args.model)
    except DataNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    width = max(len(rel) for rel, _, _ in written)
    for rel, what, rows in written:
        print(f"{rel:<{width}}  {what:<20} {rows:>7,}" if rows else f"{rel:<{width}}  {what}")
    print(f"SHA256SUMS written; on each classroom machine: export PROMPTLAB_DATA={args.folder.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
