"""Data loaders: the shared data folder, $PROMPTLAB_DATA, sampling and missing data."""

import numpy as np
import pytest

from helpers import load_conll2003, load_imdb, load_sst2
from helpers.data import DataNotFoundError, clean_review, data_dir

needs_shared = pytest.mark.skipif(not (data_dir() / "sst2" / "dev.tsv").is_file(),
                                  reason="../shared/data is not beside the project")


@needs_shared
def test_sst2_validation_counts_match_the_data_readme():
    data = load_sst2("validation")
    assert len(data) == 872
    assert np.bincount(data.labels).tolist() == [428, 444]
    assert data.label_names == ("negative", "positive")
    assert load_sst2("dev").texts == data.texts


@needs_shared
def test_imdb_sample_is_balanced_seeded_and_clean():
    a = load_imdb("test", n=100, seed=0)
    b = load_imdb("test", n=100, seed=0)
    c = load_imdb("test", n=100, seed=1)
    assert a.texts == b.texts and a.texts != c.texts
    assert np.bincount(a.labels).tolist() == [50, 50]
    assert not any("<br" in t for t in a.texts)


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


def test_missing_data_gives_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMPTLAB_DATA", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(DataNotFoundError, match="PROMPTLAB_DATA"):
        load_imdb("test")


def test_bad_split_and_sample_size_are_refused():
    with pytest.raises(ValueError, match="unknown split"):
        load_sst2("test")
    if (data_dir() / "imdb" / "test.csv").is_file():
        with pytest.raises(ValueError, match="more than"):
            load_imdb("test", n=10**6)


def test_clean_review_removes_markup():
    assert clean_review("Great.<br /><br />Really   great.") == "Great. Really great."
