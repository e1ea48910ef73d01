"""Data loaders: the shared data folder, $PROMPTLAB_DATA, malformed files, and the hub.

The hub is never reached: ``FakeHub`` replaces ``helpers.hub_data._download_parquet`` and
serves Parquet files in the hub's own schema (column names, ClassLabel names stored in the
schema metadata as the ``datasets`` library writes them, CoNLL's tags as integer ids).
"""

import hashlib
import json
import socket
import sys
from fnmatch import fnmatch
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from helpers import hub_data, load_conll2003, load_imdb, load_mlm, load_sst2
from helpers.data import (
    DATA_FILES,
    DataFormatError,
    DataNotFoundError,
    clean_review,
    data_dir,
    read_conll,
    read_imdb,
    read_sst2,
)

SHARED = data_dir()
needs_shared = pytest.mark.skipif(not (SHARED / "sst2" / "dev.tsv").is_file(),
                                  reason="../shared/data is not beside the project")


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """Every test gets an empty download cache, never the user's."""
    monkeypatch.setenv("PROMPTLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)


def loaded(dataset: str, split: str):
    """What the public loader returns, in a form that compares with ==."""
    if dataset == "sst2":
        return load_sst2(split)
    if dataset == "imdb":
        return load_imdb(split)
    return [(s.tokens, s.tags) for s in load_conll2003(split)]


# ---------------------------------------------------------------- the project's data


@needs_shared
def test_sst2_validation_counts_match_the_data_readme():
    data = load_sst2("validation")
    assert len(data) == 872
    assert np.bincount(data.labels).tolist() == [428, 444]
    assert data.label_names == ("negative", "positive")
    assert load_sst2("dev").texts == data.texts


@pytest.mark.slow
@needs_shared
def test_imdb_sample_is_balanced_seeded_and_clean():
    a = load_imdb("test", n=100, seed=0)
    b = load_imdb("test", n=100, seed=0)
    c = load_imdb("test", n=100, seed=1)
    assert a.texts == b.texts and a.texts != c.texts
    assert np.bincount(a.labels).tolist() == [50, 50]
    assert not any("<br" in t for t in a.texts)


def test_imdb_sample_does_not_depend_on_the_files_row_order(tmp_path, monkeypatch):
    # The hub stores IMDB in another order than ../shared/data: the same seed must give the
    # same reviews, in the same order, from either copy.
    rows = [(i % 2, f"review number {i} is {'good' if i % 2 else 'bad'}") for i in range(40)]
    samples = []
    for name, order in [("a", rows), ("b", rows[::-1]), ("c", rows[1::2] + rows[::2])]:
        write(tmp_path / name / "imdb" / "test.csv",
              "label,rating,id,text\n" + "".join(f"{y},5,{k},{t}\n" for k, (y, t) in enumerate(order)))
        monkeypatch.setenv("PROMPTLAB_DATA", str(tmp_path / name))
        samples.append(load_imdb("test", n=10, seed=3))
    assert samples[0] == samples[1] == samples[2]
    assert np.bincount(samples[0].labels).tolist() == [5, 5]
    monkeypatch.setenv("PROMPTLAB_DATA", str(tmp_path / "a"))
    assert load_imdb("test", n=10, seed=4).texts != samples[0].texts
    in_file_order = [t for _, t in rows if t in samples[0].texts]
    assert samples[0].texts != in_file_order  # classes mixed, not the file's order


def test_imdb_sample_of_a_text_given_twice_does_not_depend_on_row_order(tmp_path, monkeypatch):
    # IMDB holds some reviews twice; one text under both labels must still come out the same way.
    rows = [(0, "the same words twice"), (1, "the same words twice")] + [(i % 2, f"review {i}") for i in range(6)]
    samples = []
    for name, order in [("a", rows), ("b", rows[::-1])]:
        write(tmp_path / name / "imdb" / "test.csv",
              "label,rating,id,text\n" + "".join(f"{y},5,{k},{t}\n" for k, (y, t) in enumerate(order)))
        monkeypatch.setenv("PROMPTLAB_DATA", str(tmp_path / name))
        samples.append(load_imdb("test", n=len(rows), seed=0))
    assert samples[0] == samples[1]


@needs_shared
def test_conll2003_test_split_counts():
    sentences = load_conll2003("test")
    assert len(sentences) == 3453
    starts = [t[2:] for s in sentences for t in s.tags if t.startswith("B-")]
    assert {k: starts.count(k) for k in ("LOC", "ORG", "PER", "MISC")} == {
        "LOC": 1668, "ORG": 1661, "PER": 1617, "MISC": 702}
    assert all(len(s.tokens) == len(s.tags) for s in sentences)


def test_promptlab_data_points_at_another_folder(tmp_path, monkeypatch):
    (tmp_path / "sst2").mkdir()
    (tmp_path / "sst2" / "dev.tsv").write_text("sentence\tlabel\na fine film \t1\na dull one \t0\n")
    (tmp_path / "conll2003").mkdir()
    (tmp_path / "conll2003" / "test.txt").write_text(
        "-DOCSTART- -X- -X- O\n\nJohn NNP B-NP B-PER\nlives VBZ B-VP O\n\nParis NNP B-NP B-LOC\n")
    monkeypatch.setenv("PROMPTLAB_DATA", str(tmp_path))
    data = load_sst2("validation")
    assert data.texts == ["a fine film", "a dull one"] and data.labels.tolist() == [1, 0]
    sentences = load_conll2003("test")
    assert [s.tokens for s in sentences] == [["John", "lives"], ["Paris"]]
    assert [s.tags for s in sentences] == [["B-PER", "O"], ["B-LOC"]]


def test_bad_split_and_sample_size_are_refused():
    with pytest.raises(ValueError, match="unknown split"):
        load_sst2("test")
    if (data_dir() / "imdb" / "test.csv").is_file():
        with pytest.raises(ValueError, match="more than"):
            load_imdb("test", n=10**6)


def test_clean_review_removes_markup():
    assert clean_review("Great.<br /><br />Really   great.") == "Great. Really great."


def test_labelled_texts_compare_by_content(tmp_path):
    def sst2(body: str):
        return read_sst2(write(tmp_path / "dev.tsv", "sentence\tlabel\n" + body))

    a = sst2("x \t1\ny \t0\n")
    assert a == sst2("x\t1\ny\t0\n")
    assert a != sst2("x\t0\ny\t1\n")
    with pytest.raises(TypeError):
        hash(a)


# ---------------------------------------------------------------- malformed files


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("line, got", [
    ("John NNP B-NP lives", "'John NNP B-NP lives'"),
    ("Paris NNP B-NP X-LOC", "'Paris NNP B-NP X-LOC'"),
    ("Paris", "'Paris'"),
])
def test_conll_line_without_an_iob2_tag_names_file_and_line(tmp_path, line, got):
    path = write(tmp_path / "test.txt", f"-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\n{line}\n")
    with pytest.raises(DataFormatError) as err:
        read_conll(path)
    assert str(err.value) == (f"{path}:4: expected 'token POS chunk NER' ending in an IOB2 tag "
                              f"(O, B-TYPE or I-TYPE), got {got}")
    assert isinstance(err.value, ValueError) and err.value.line == 4


def test_conll_in_iob1_is_refused_at_the_first_inside_tag_after_outside(tmp_path):
    path = write(tmp_path / "test.txt", "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP I-MISC\n")
    with pytest.raises(DataFormatError, match=rf"^{path}:3: expected B-MISC or I-MISC before I-MISC "
                                              r"\(IOB2\), got I-MISC after O$"):
        read_conll(path)


def test_sst2_row_without_a_tab_separated_label_names_file_and_line(tmp_path):
    path = write(tmp_path / "dev.tsv", "sentence\tlabel\na fine film \t1\na dull one 0\n")
    with pytest.raises(DataFormatError, match=rf"^{path}:3: expected 'sentence<TAB>label' with "
                                              r"a sentence and label 0 or 1, got 'a dull one 0'$"):
        read_sst2(path)
    write(path, "sentence\tlabel\na fine film \t1\n \t0\n")
    with pytest.raises(DataFormatError, match=rf"^{path}:3: .*got ' \\t0'$"):
        read_sst2(path)
    write(path, "sentence\tlabel\na fine film\tpositive\n")
    with pytest.raises(DataFormatError, match=rf"^{path}:2: .*got 'a fine film\\tpositive'$"):
        read_sst2(path)


def test_imdb_with_the_wrong_header_names_file_and_line(tmp_path):
    path = write(tmp_path / "test.csv", 'text,label\n"Great film",1\n')
    with pytest.raises(DataFormatError, match=rf"^{path}:1: expected the header "
                                              r"'label,rating,id,text', got 'text,label'$"):
        read_imdb(path)
    write(path, 'label,rating,id,text\n1,8,pos/1_8,"Fine"\n"pos",8,pos/2_8,"Fine"\n')
    with pytest.raises(DataFormatError, match=rf"^{path}:3: expected 4 fields"):
        read_imdb(path)


@pytest.mark.parametrize("name, reader, expected", [
    ("dev.tsv", read_sst2, "the header 'sentence<TAB>label'"),
    ("test.csv", read_imdb, "the header 'label,rating,id,text'"),
    ("test.txt", read_conll, "at least one 'token POS chunk NER' line"),
])
def test_an_empty_file_names_file_and_line(tmp_path, name, reader, expected):
    path = write(tmp_path / name, "")
    with pytest.raises(DataFormatError) as err:
        reader(path)
    assert str(err.value) == f"{path}:1: expected {expected}, got an empty file"


def test_a_loader_reports_the_malformed_file_it_found(tmp_path, monkeypatch):
    write(tmp_path / "conll2003" / "valid.txt", "EU NNP B-NP B-ORG\n\nPeter NNP B-NP lives\n")
    monkeypatch.setenv("PROMPTLAB_DATA", str(tmp_path))
    with pytest.raises(DataFormatError, match=rf"^{tmp_path / 'conll2003' / 'valid.txt'}:3: "):
        load_conll2003("validation")


# ---------------------------------------------------------------- the hub, faked

# The hub's class names, as the data sets' cards list them (CoNLL's in the hub's id order).
SST2_NAMES = ["negative", "positive"]
IMDB_NAMES = ["neg", "pos"]
NER_NAMES = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
POS_NAMES = ['"', "''", "#", "$", "(", ")", ",", ".", ":", "``", "CC", "CD", "DT", "EX", "FW",
             "IN", "JJ", "JJR", "JJS", "LS", "MD", "NN", "NNP", "NNPS", "NNS", "NN|SYM", "PDT",
             "POS", "PRP", "PRP$", "RB", "RBR", "RBS", "RP", "SYM", "TO", "UH", "VB", "VBD", "VBG",
             "VBN", "VBP", "VBZ", "WDT", "WP", "WP$", "WRB"]
CHUNK_NAMES = ["O", "B-ADJP", "I-ADJP", "B-ADVP", "I-ADVP", "B-CONJP", "I-CONJP", "B-INTJ",
               "I-INTJ", "B-LST", "I-LST", "B-NP", "I-NP", "B-PP", "I-PP", "B-PRT", "I-PRT",
               "B-SBAR", "I-SBAR", "B-UCP", "I-UCP", "B-VP", "I-VP"]


def class_label(names):
    return {"names": list(names), "_type": "ClassLabel"}


def sequence_of(names):
    return {"feature": class_label(names), "_type": "Sequence"}


def sst2_table(rows, names=SST2_NAMES) -> pa.Table:
    """GLUE SST-2 as nyu-mll/glue stores it: sentence (with GLUE's trailing space), label, idx."""
    table = pa.table({"sentence": [s for s, _ in rows],
                      "label": pa.array([names.index(c) for _, c in rows], pa.int64()),
                      "idx": pa.array(range(len(rows)), pa.int32())})
    return with_features(table, {"sentence": {"dtype": "string", "_type": "Value"},
                                 "label": class_label(names),
                                 "idx": {"dtype": "int32", "_type": "Value"}})


def imdb_table(rows, names=IMDB_NAMES) -> pa.Table:
    table = pa.table({"text": [t for t, _ in rows],
                      "label": pa.array([names.index(c) for _, c in rows], pa.int64())})
    return with_features(table, {"text": {"dtype": "string", "_type": "Value"},
                                 "label": class_label(names)})


def conll_table(sentences) -> pa.Table:
    """CoNLL-2003 as the hub's Parquet conversion stores it: ids into each column's names."""
    columns = {"id": [str(i) for i in range(len(sentences))], "tokens": [], "pos_tags": [],
               "chunk_tags": [], "ner_tags": []}
    for words in sentences:
        columns["tokens"].append([w[0] for w in words])
        columns["pos_tags"].append([POS_NAMES.index(w[1]) for w in words])
        columns["chunk_tags"].append([CHUNK_NAMES.index(w[2]) for w in words])
        columns["ner_tags"].append([NER_NAMES.index(w[3]) for w in words])
    return with_features(pa.table(columns), {
        "id": {"dtype": "string", "_type": "Value"},
        "tokens": {"feature": {"dtype": "string", "_type": "Value"}, "_type": "Sequence"},
        "pos_tags": sequence_of(POS_NAMES), "chunk_tags": sequence_of(CHUNK_NAMES),
        "ner_tags": sequence_of(NER_NAMES)})


def with_features(table: pa.Table, features: dict) -> pa.Table:
    meta = json.dumps({"info": {"features": features}}).encode()
    return table.replace_schema_metadata({b"huggingface": meta})


class FakeHub:
    """Serves Parquet files by repository, revision and path, and counts the downloads."""

    def __init__(self, files: dict[tuple[str, str, str], pa.Table]):
        self.files, self.calls = files, []

    def __call__(self, repo_id: str, revision: str, pattern: str, dest: Path) -> list[Path]:
        self.calls.append((repo_id, revision, pattern))
        paths = []
        for (repo, rev, name), table in sorted(self.files.items()):
            if (repo, rev) == (repo_id, revision) and fnmatch(name, pattern):
                (dest / name).parent.mkdir(parents=True, exist_ok=True)
                pq.write_table(table, dest / name)
                paths.append(dest / name)
        if not paths:
            raise hub_data.HubError(f"no file matching {pattern!r} in {repo_id}@{revision}")
        return paths


SST2_ROWS = [("it 's a charming and often affecting journey . ", "positive"),
             ("unflinchingly bleak and desperate ", "negative"),
             ("allows us to hope that nolan is poised to embark a major career ", "positive")]
IMDB_ROWS = [('A "classic", they said.<br /><br />It is not.', "neg"),
             ("Loved it, every minute of it.\nTwice.", "pos"),
             ("Dull, dull, dull.", "neg")]
CONLL_SENTENCES = [
    [("SOCCER", "NN", "B-NP", "O"), ("-", ":", "O", "O"), ("JAPAN", "NNP", "B-NP", "B-LOC"),
     ("GET", "VB", "B-VP", "O")],
    [("Nadim", "NNP", "B-NP", "B-PER"), ("Ladki", "NNP", "I-NP", "I-PER")],
    [("AL-AIN", "NNP", "B-NP", "B-LOC"), (",", ",", "O", "O"), ("United", "NNP", "B-NP", "B-LOC"),
     ("Arab", "NNP", "I-NP", "I-LOC"), ("Emirates", "NNPS", "I-NP", "I-LOC"),
     ("Reuters", "NNP", "B-NP", "B-ORG")],
]
# The same rows as the project's local files hold them, written by hand.
LOCAL_FILES = {
    "sst2/dev.tsv": "sentence\tlabel\n" + "".join(
        f"{s}\t{SST2_NAMES.index(c)}\n" for s, c in SST2_ROWS),
    "imdb/test.csv": 'label,rating,id,text\n0,3,neg/0_3,"A ""classic"", they said.<br /><br />It is '
                     'not."\n1,10,pos/0_10,"Loved it, every minute of it.\nTwice."\n'
                     '0,1,neg/1_1,"Dull, dull, dull."\n',
    "conll2003/test.txt": "-DOCSTART- -X- -X- O\n\n" + "\n".join(
        "\n".join(" ".join(w) for w in s) + "\n" for s in CONLL_SENTENCES),
}


def fake_hub_files(sst2=SST2_ROWS, imdb=IMDB_ROWS, conll=CONLL_SENTENCES, sst2_names=SST2_NAMES,
                   imdb_names=IMDB_NAMES):
    """Every split of the three data sets at the hub paths the real repositories use."""
    files = {}
    for split in ("train", "validation"):
        files["nyu-mll/glue", "main", f"sst2/{split}-00000-of-00001.parquet"] = sst2_table(sst2, sst2_names)
    files["nyu-mll/glue", "main", "sst2/test-00000-of-00001.parquet"] = sst2_table([], sst2_names)
    files["nyu-mll/glue", "main", "cola/validation-00000-of-00001.parquet"] = imdb_table([])
    for split in ("train", "test", "unsupervised"):
        files["stanfordnlp/imdb", "main", f"plain_text/{split}-00000-of-00001.parquet"] = imdb_table(imdb, imdb_names)
    for split in ("train", "validation", "test"):
        files["eriktks/conll2003", "refs/convert/parquet", f"conll2003/{split}/0000.parquet"] = conll_table(conll)
    return files


@pytest.fixture()
def fake_hub(monkeypatch, tmp_path):
    hub = FakeHub(fake_hub_files())
    monkeypatch.setattr(hub_data, "_download_parquet", hub)
    monkeypatch.setenv("PROMPTLAB_DATA", str(tmp_path / "no-data-here"))
    return hub


def local_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "local"
    for relative, text in LOCAL_FILES.items():
        write(folder / relative, text)
    return folder


@pytest.mark.parametrize("dataset, split", [("sst2", "validation"), ("imdb", "test"),
                                            ("conll2003", "test")])
def test_each_loader_converts_hub_rows_as_it_reads_the_same_rows_locally(
        fake_hub, tmp_path, monkeypatch, dataset, split):
    from_hub = loaded(dataset, split)
    monkeypatch.setenv("PROMPTLAB_DATA", str(local_folder(tmp_path)))
    from_files = loaded(dataset, split)
    assert from_hub == from_files
    assert len(from_hub) == 3


def test_hub_labels_are_mapped_through_the_hubs_own_names(monkeypatch, tmp_path):
    """With the class order reversed on the hub, the loaders still say 1 = positive."""
    hub = FakeHub(fake_hub_files(sst2_names=["positive", "negative"], imdb_names=["pos", "neg"]))
    monkeypatch.setattr(hub_data, "_download_parquet", hub)
    monkeypatch.setenv("PROMPTLAB_DATA", str(tmp_path / "nothing"))
    assert load_sst2("validation").labels.tolist() == [1, 0, 1]
    assert load_imdb("test").labels.tolist() == [0, 1, 0]


def test_first_use_downloads_once_into_the_cache(fake_hub, tmp_path):
    first = load_conll2003("validation")
    assert fake_hub.calls == [("eriktks/conll2003", "refs/convert/parquet", "*/validation/*.parquet")]
    assert (tmp_path / "cache" / "conll2003" / "valid.txt").is_file()
    again = load_conll2003("validation")
    assert len(fake_hub.calls) == 1
    assert again == first


def test_unexpected_hub_names_are_refused(monkeypatch, tmp_path):
    monkeypatch.setattr(hub_data, "_download_parquet",
                        FakeHub(fake_hub_files(sst2=[(s, c.replace("negative", "bad").replace(
                            "positive", "good")) for s, c in SST2_ROWS], sst2_names=["bad", "good"])))
    monkeypatch.setenv("PROMPTLAB_DATA", str(tmp_path / "nothing"))
    with pytest.raises(hub_data.HubFormatError, match=r"got \['bad', 'good'\]"):
        load_sst2("validation")
    assert not (tmp_path / "cache" / "sst2" / "dev.tsv").exists()


def test_download_command_writes_files_the_local_readers_read_back(fake_hub, tmp_path, monkeypatch, capsys):
    folder = tmp_path / "classroom"
    assert hub_data.main(["download", str(folder)]) == 0
    printed = capsys.readouterr().out
    assert f"PROMPTLAB_DATA={folder}" in printed
    expected = sorted(rel for files in DATA_FILES.values() for rel in files.values())
    written = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert written == sorted(expected + ["SHA256SUMS"])
    sums = dict(reversed(line.split("  ")) for line in (folder / "SHA256SUMS").read_text().splitlines())
    assert sums == {rel: hashlib.sha256((folder / rel).read_bytes()).hexdigest() for rel in expected}

    monkeypatch.setenv("PROMPTLAB_DATA", str(local_folder(tmp_path)))
    local = {(d, s): loaded(d, s) for d, s in (("sst2", "validation"), ("imdb", "test"), ("conll2003", "test"))}
    monkeypatch.setenv("PROMPTLAB_DATA", str(folder))
    for (dataset, split), value in local.items():
        assert loaded(dataset, split) == value
    assert len(fake_hub.calls) == 7  # one per split, none for the loads above


def test_download_command_fetches_a_hub_model_into_the_folder(fake_hub, tmp_path, monkeypatch,
                                                              tiny_model_dir):
    import shutil

    def fake_snapshot(name, dest):
        assert name == "org/tiny-bert"
        shutil.copytree(tiny_model_dir, dest)
        return dest

    monkeypatch.setattr(hub_data, "_download_model", fake_snapshot)
    assert hub_data.main(["download", str(tmp_path / "c"), "--only", "sst2", "--model", "org/tiny-bert"]) == 0
    model, tokenizer = load_mlm(str(tmp_path / "c" / "models" / "org--tiny-bert"), device="cpu")
    assert model.config.hidden_size == 32 and tokenizer.mask_token == "[MASK]"
    summed = [line.split("  ")[1] for line in (tmp_path / "c" / "SHA256SUMS").read_text().splitlines()]
    model_files = sorted(f"models/org--tiny-bert/{p.name}" for p in tiny_model_dir.iterdir())
    assert summed == sorted(["sst2/dev.tsv", "sst2/train.tsv"] + model_files)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def assert_names_both_ways_out(message: str) -> None:
    assert "PROMPTLAB_DATA=DIR" in message and "python -m helpers.hub_data download DIR" in message
    assert "(1) online:" in message and "(2) offline:" in message


def test_unreachable_hub_names_both_ways_out(tmp_path, monkeypatch, capsys):
    """The real hub client, pointed at a port where nothing listens."""
    monkeypatch.setenv("PROMPTLAB_DATA", str(tmp_path / "nothing"))
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(DataNotFoundError) as err:
        load_sst2("validation")
    message = str(err.value)
    assert message.startswith(f"{tmp_path / 'nothing' / 'sst2' / 'dev.tsv'} is not there, and "
                              "downloading nyu-mll/glue@main sst2/validation-*.parquet from the "
                              "Hugging Face hub failed")
    assert "connect to the network" in message
    assert_names_both_ways_out(message)
    assert hub_data.main(["download", str(tmp_path / "c"), "--only", "imdb"]) == 1
    printed = capsys.readouterr().err
    assert printed.startswith("error: imdb train: downloading stanfordnlp/imdb@main "
                              "plain_text/train-*.parquet from the Hugging Face hub failed")
    assert "Fix: connect to the network" in printed


def test_offline_mode_names_both_ways_out_without_asking_the_hub(fake_hub, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DataNotFoundError, match="HF_HUB_OFFLINE is set") as err:
        load_imdb("test")
    assert_names_both_ways_out(str(err.value))
    assert fake_hub.calls == []


@pytest.mark.parametrize("module, pin", [("pyarrow", "pyarrow==26.0.1"),
                                         ("huggingface_hub", "huggingface-hub==2.4.0")])
def test_a_missing_package_names_both_ways_out(fake_hub, monkeypatch, module, pin):
    monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
    with pytest.raises(DataNotFoundError) as err:
        load_conll2003("test")
    message = str(err.value)
    assert f"`pip install {pin}`" in message and f"needs {pin}, which is not installed" in message
    assert_names_both_ways_out(message)
    assert fake_hub.calls == []


def test_the_pins_in_the_hint_are_the_projects():
    import tomllib

    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    pinned = set(tomllib.loads(pyproject.read_text())["project"]["dependencies"])
    assert set(hub_data.REQUIRED_PACKAGES.values()) <= pinned


# ---------------------------------------------------------------- the hub, faked with the project's data


def hub_tables_from_project_data() -> dict:
    """The project's own files in the hub's schema, as the hub would serve them."""
    files = {}
    for split, rel in DATA_FILES["sst2"].items():
        lines = (SHARED / rel).read_text(encoding="utf-8").splitlines()[1:]
        rows = [(s, SST2_NAMES[int(label)]) for s, _, label in (x.rpartition("\t") for x in lines)]
        files["nyu-mll/glue", "main", f"sst2/{split}-00000-of-00001.parquet"] = sst2_table(rows)
    for split, rel in DATA_FILES["imdb"].items():
        raw = read_imdb(SHARED / rel)
        files["stanfordnlp/imdb", "main", f"plain_text/{split}-00000-of-00001.parquet"] = imdb_table(
            [(t, IMDB_NAMES[c]) for t, c in zip(raw.texts, raw.labels)])
    for split, rel in DATA_FILES["conll2003"].items():
        sentences, current = [], []
        for line in (SHARED / rel).read_text(encoding="utf-8").splitlines() + [""]:
            if not line.strip() or line.startswith("-DOCSTART-"):
                if current:
                    sentences.append(current)
                current = []
            else:
                current.append(tuple(line.split()))
        files["eriktks/conll2003", "refs/convert/parquet", f"conll2003/{split}/0000.parquet"] = conll_table(sentences)
    return files


@pytest.mark.slow
@needs_shared
def test_a_downloaded_folder_gives_notebooks_3_to_5_the_projects_data(tmp_path, monkeypatch):
    """Every split, served by the fake hub in its schema and downloaded, reads back as the project's."""
    monkeypatch.setattr(hub_data, "_download_parquet", FakeHub(hub_tables_from_project_data()))
    folder = tmp_path / "classroom"
    assert hub_data.main(["download", str(folder)]) == 0
    monkeypatch.setenv("PROMPTLAB_DATA", str(folder))
    ours = {(d, s): loaded(d, s) for d in DATA_FILES for s in DATA_FILES[d]}
    sst2 = ours["sst2", "validation"]
    assert len(sst2) == 872 and np.bincount(sst2.labels).tolist() == [428, 444]
    assert len(ours["conll2003", "test"]) == 3453
    monkeypatch.setenv("PROMPTLAB_DATA", str(SHARED))
    for (dataset, split), value in ours.items():
        assert value == loaded(dataset, split), (dataset, split)


def test_the_hub_client_downloads_only_the_files_of_the_split(monkeypatch, tmp_path):
    """``_download_parquet`` itself, with the two huggingface_hub calls it makes replaced."""
    import huggingface_hub

    import helpers.hub

    listing = ["README.md", "cola/validation-00000-of-00001.parquet",
               "sst2/test-00000-of-00001.parquet", "sst2/train-00000-of-00001.parquet",
               "sst2/validation-00000-of-00001.parquet", "sst2/validation-00001-of-00002.parquet"]
    asked = []

    def list_repo_files(self, repo_id, *, revision=None, repo_type=None, token=None):
        asked.append(("list", repo_id, revision, repo_type))
        return listing

    def hf_hub_download(repo_id, filename, *, repo_type, revision, local_dir, endpoint):
        asked.append(("get", filename, revision))
        return str(write(Path(local_dir) / filename, "parquet bytes"))

    monkeypatch.setattr(helpers.hub, "hub_reachable", lambda: True)
    monkeypatch.setattr(huggingface_hub.HfApi, "list_repo_files", list_repo_files)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", hf_hub_download)
    paths = hub_data._download_parquet("nyu-mll/glue", "main", "sst2/validation-*.parquet", tmp_path)
    assert paths == [tmp_path / "sst2/validation-00000-of-00001.parquet",
                     tmp_path / "sst2/validation-00001-of-00002.parquet"]
    assert asked == [("list", "nyu-mll/glue", "main", "dataset"),
                     ("get", "sst2/validation-00000-of-00001.parquet", "main"),
                     ("get", "sst2/validation-00001-of-00002.parquet", "main")]
    with pytest.raises(hub_data.HubError, match=r"no file matching 'sst2/dev-\*.parquet' in nyu-mll/glue@main"):
        hub_data._download_parquet("nyu-mll/glue", "main", "sst2/dev-*.parquet", tmp_path)
