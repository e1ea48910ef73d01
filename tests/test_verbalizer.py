"""Verbalizer: checks of label words against the vocabulary and class aggregation."""

import numpy as np
import pytest

from helpers import Verbalizer, VerbalizerError


def test_labels_keep_their_order_and_words_get_ids(tiny_tokenizer):
    v = Verbalizer({"negative": ["terrible", "bad"], "positive": "great"})
    assert v.labels == ("negative", "positive")
    bound = v.bind(tiny_tokenizer)
    assert bound.words == ("terrible", "bad", "great")
    assert list(bound.word_class) == [0, 0, 1]
    assert bound.word_ids == tuple((tiny_tokenizer.convert_tokens_to_ids(w),) for w in bound.words)


def test_empty_verbalizer_and_empty_class_are_refused():
    with pytest.raises(VerbalizerError, match="at least one class"):
        Verbalizer({})
    with pytest.raises(VerbalizerError, match="'positive' has no label words"):
        Verbalizer({"negative": ["bad"], "positive": []})
    with pytest.raises(VerbalizerError, match="empty or non-string"):
        Verbalizer({"negative": ["bad"], "positive": [" "]})
    with pytest.raises(VerbalizerError, match="two classes"):
        Verbalizer({"positive": ["great"]})


def test_split_word_is_refused_by_default_with_what_to_do(tiny_tokenizer):
    v = Verbalizer({"negative": ["bad"], "positive": ["fantastic"]})
    with pytest.raises(VerbalizerError) as err:
        v.bind(tiny_tokenizer)
    message = str(err.value)
    assert "'fantastic'" in message and "2 pieces" in message and "##tastic" in message
    assert "multi_token='pet'" in message


def test_split_word_under_pet_keeps_all_pieces(tiny_tokenizer):
    bound = Verbalizer({"negative": ["bad"], "positive": ["fantastic"]}, multi_token="pet").bind(tiny_tokenizer)
    assert bound.word_ids[1] == tuple(tiny_tokenizer.convert_tokens_to_ids(["fan", "##tastic"]))


def test_unknown_word_is_refused(tiny_tokenizer):
    with pytest.raises(VerbalizerError, match="unknown to the vocabulary"):
        Verbalizer({"negative": ["bad"], "positive": ["splendid"]}).bind(tiny_tokenizer)


def test_bad_options_are_refused():
    with pytest.raises(VerbalizerError, match="aggregate"):
        Verbalizer({"a": ["x"], "b": ["y"]}, aggregate="median")
    with pytest.raises(VerbalizerError, match="multi_token"):
        Verbalizer({"a": ["x"], "b": ["y"]}, multi_token="first_piece")


@pytest.mark.parametrize("aggregate, expected", [
    ("mean_logprob", [np.log(0.2 * 0.05) / 2, np.log(0.1)]),
    ("sum_prob", [np.log(0.25), np.log(0.1)]),
    ("max", [np.log(0.2), np.log(0.1)]),
])
def test_aggregation_of_a_class_words(tiny_tokenizer, aggregate, expected):
    bound = Verbalizer({"negative": ["terrible", "bad"], "positive": ["great"]}, aggregate=aggregate).bind(tiny_tokenizer)
    word_logprobs = np.log([[0.2, 0.05, 0.1]])
    np.testing.assert_allclose(bound.class_logits(word_logprobs)[0], expected)
    probs = bound.class_probs(word_logprobs)[0]
    np.testing.assert_allclose(probs, np.exp(expected) / np.exp(expected).sum())
