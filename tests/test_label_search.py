"""helpers.label_search on the tiny random BERT: planted class words are found, bad input refused."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import Template, TemplateError, Verbalizer, VerbalizerError, search_label_words
from helpers.finetune import prompt_finetune
from helpers.label_search import rank_label_words, whole_word_tokens

TEMPLATE = Template("{text} it was {mask} .")
NEG = ["i hated the movie", "the plot was bad", "i hated this film", "the acting was bad",
       "i hated it", "this story was bad"]
POS = ["i loved the movie", "the plot was good", "i loved this film", "the acting was good",
       "i loved it", "this story was good"]
TEXTS, LABELS = NEG + POS, [0] * len(NEG) + [1] * len(POS)


@pytest.fixture(scope="module")
def planted(tiny_model, tiny_tokenizer):
    """The tiny model taught that negative texts put "awful" at the mask, positive ones "fine"."""
    teach = Verbalizer({"negative": ["awful"], "positive": ["fine"]})
    return prompt_finetune(tiny_model, tiny_tokenizer, TEMPLATE, teach, TEXTS, LABELS, epochs=30, lr=3e-3,
                           seed=0, progress=False)


def test_whole_word_tokens_skip_pieces_specials_and_punctuation(tiny_tokenizer):
    ids, words = whole_word_tokens(tiny_tokenizer)
    assert "great" in words and "paris" in words
    assert not any(w.startswith("#") or not w.isalpha() for w in words)
    assert "tastic" not in words and "[MASK]" not in words and "." not in words
    assert all(tiny_tokenizer.convert_ids_to_tokens(int(i)) == w for i, w in zip(ids, words))


def test_search_finds_the_planted_words(planted, tiny_tokenizer):
    found = search_label_words(planted, tiny_tokenizer, TEMPLATE, TEXTS, LABELS, ["negative", "positive"])
    assert found.label_words == {"negative": ["awful"], "positive": ["fine"]}
    reversed_labels = [1 - y for y in LABELS]  # swap the classes: the words swap too
    swapped = search_label_words(planted, tiny_tokenizer, TEMPLATE, TEXTS, reversed_labels, ["negative", "positive"])
    assert swapped.label_words == {"negative": ["fine"], "positive": ["awful"]}


def test_ranking_is_by_likelihood_ratio_and_words_are_not_shared(planted, tiny_tokenizer):
    ranking = rank_label_words(planted, tiny_tokenizer, TEMPLATE, TEXTS, LABELS, ["negative", "positive"], keep=5)
    for ratio in ranking.ratio:
        assert np.all(np.diff(ratio) <= 1e-12)
        assert ratio[0] > 0
    assert not set(ranking.words[0]) & set(ranking.words[1])
    three = search_label_words(planted, tiny_tokenizer, TEMPLATE, TEXTS, LABELS, ["negative", "positive"],
                               words_per_class=3)
    assert [len(w) for w in three.label_words.values()] == [3, 3]
    assert three.label_words["negative"] == list(ranking.words[0][:3])
    three.bind(tiny_tokenizer)  # every found word is one whole token


def test_verbalizer_json_round_trip(tmp_path):
    v = Verbalizer({"negative": ["awful", "bad"], "positive": ["fine"]}, aggregate="sum_prob")
    path = v.save(tmp_path / "words.json")
    again = Verbalizer.load(path)
    assert again.to_dict() == v.to_dict() and again.labels == ("negative", "positive")
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(VerbalizerError, match="not a verbalizer file"):
        Verbalizer.load(tmp_path / "bad.json")
    with pytest.raises(FileNotFoundError):
        Verbalizer.load(tmp_path / "missing.json")


@pytest.mark.parametrize("kwargs, error, message", [
    ({"template": "{text} it was ."}, TemplateError, "no mask slot"),
    ({"labels": [0] * 6 + [2] * 6}, ValueError, "outside the 2 classes"),
    ({"labels": [0] * 12}, ValueError, "no training example"),
    ({"texts": TEXTS[:5]}, ValueError, "5 texts but 12 labels"),
    ({"words_per_class": 0}, ValueError, "words_per_class"),
    ({"label_names": ["only"]}, ValueError, "at least two"),
])
def test_bad_input_is_refused(tiny_model, tiny_tokenizer, kwargs, error, message):
    args = {"template": TEMPLATE, "texts": TEXTS, "labels": LABELS, "label_names": ["negative", "positive"]}
    args.update(kwargs)
    with pytest.raises(error, match=message):
        search_label_words(tiny_model, tiny_tokenizer, args.pop("template"), args.pop("texts"), args.pop("labels"),
                           args.pop("label_names"), **args)
