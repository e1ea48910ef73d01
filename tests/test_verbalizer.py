"""Verbalizer: checks of label words against the vocabulary and class aggregation."""

import numpy as np
import pytest
from transformers import BertTokenizer

from helpers import Verbalizer, VerbalizerError
from helpers.verbalizer import bind


def test_labels_keep_their_order_and_words_get_ids(tiny_tokenizer):
    v = Verbalizer({"negative": ["terrible", "bad"], "positive": "great"})
    assert v.labels == ("negative", "positive")
    bound = v.bind(tiny_tokenizer)
    assert bound.words == ("terrible", "bad", "great")
    assert list(bound.word_class) == [0, 0, 1]
    assert bound.word_ids == tuple((tiny_tokenizer.convert_tokens_to_ids(w),) for w in bound.words)


def test_empty_verbalizer_and_empty_class_are_refused():
    with pytest.raises(VerbalizerError, match="needs a dict of classes to label words"):
        Verbalizer({})
    with pytest.raises(VerbalizerError, match="needs a dict of classes to label words"):
        Verbalizer(["great", "terrible"])
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
    assert "multi_token='parallel' or multi_token='iterative'" in message


@pytest.mark.parametrize("mode", ["parallel", "iterative"])
def test_split_words_keep_all_their_pieces(tiny_tokenizer, mode):
    bound = Verbalizer({"negative": ["bad", "wonderful"], "positive": ["fantastic"]},
                       multi_token=mode).bind(tiny_tokenizer)
    assert bound.word_ids[1:] == (tuple(tiny_tokenizer.convert_tokens_to_ids(["wonder", "##ful"])),
                                  tuple(tiny_tokenizer.convert_tokens_to_ids(["fan", "##tastic"])))
    assert bound.multi_token == mode


def test_the_old_pet_name_says_which_two_modes_replace_it():
    with pytest.raises(VerbalizerError, match="'parallel'.*'iterative'"):
        Verbalizer({"negative": ["bad"], "positive": ["fantastic"]}, multi_token="pet")


@pytest.mark.parametrize("words, message", [
    ({"negative": ["great", "bad"], "positive": ["great"]},
     "'great' is given twice in classes 'negative' and 'positive'"),
    ({"negative": ["bad"], "positive": ["Great", "great"]},
     r"'great' and 'Great' are the same tokens \['great'\] in class 'positive'"),
    ({"negative": ["GREAT"], "positive": ["great"]}, "'great' and 'GREAT' .* in classes 'negative' and 'positive'"),
])
def test_one_word_standing_for_two_classes_or_twice_is_refused(tiny_tokenizer, words, message):
    with pytest.raises(VerbalizerError, match=message):
        Verbalizer(words).bind(tiny_tokenizer)


def test_bind_takes_a_verbalizer_or_a_bound_one_and_refuses_another_tokenizers(tiny_tokenizer):
    verbalizer = Verbalizer({"negative": ["bad"], "positive": ["good"]})
    bound = bind(verbalizer, tiny_tokenizer)
    assert bound.word_ids == ((tiny_tokenizer.convert_tokens_to_ids("bad"),),
                              (tiny_tokenizer.convert_tokens_to_ids("good"),))
    assert bind(bound, tiny_tokenizer) is bound
    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad"]
    shifted = BertTokenizer(vocab={t: i for i, t in enumerate(vocabulary)})
    with pytest.raises(VerbalizerError, match="bound to another tokenizer"):
        bind(bound, shifted)
    with pytest.raises(TypeError, match="Verbalizer or a BoundVerbalizer"):
        bind({"negative": ["bad"], "positive": ["good"]}, tiny_tokenizer)


def test_subset_picks_columns_of_the_full_word_scores(tiny_tokenizer):
    everything = Verbalizer({"negative": ["terrible", "bad"], "positive": ["great", "good"]}).bind(tiny_tokenizer)
    word_logprobs = np.log([[0.1, 0.3, 0.2, 0.05], [0.02, 0.01, 0.4, 0.3]])
    sub = everything.subset(["good", "bad"])
    assert sub.words == ("good", "bad") and sub.columns == (3, 1) and list(sub.word_class) == [1, 0]
    assert sub.word_ids == (everything.word_ids[3], everything.word_ids[1])
    np.testing.assert_allclose(sub.class_probs(word_logprobs[:, sub.columns]),
                               [[0.3 / 0.35, 0.05 / 0.35], [0.01 / 0.31, 0.3 / 0.31]])
    pair = Verbalizer({"negative": ["terrible"], "positive": ["great"]}, aggregate="max")
    from_verbalizer = everything.subset(pair)
    assert from_verbalizer.columns == (0, 2) and from_verbalizer.aggregate == "max"
    np.testing.assert_allclose(from_verbalizer.class_probs(word_logprobs[:, from_verbalizer.columns]),
                               pair.bind(tiny_tokenizer).class_probs(word_logprobs[:, [0, 2]]))
    again = from_verbalizer.subset(["great", "terrible"])  # columns still point into the full scores
    assert again.columns == (2, 0)


@pytest.mark.parametrize("words, message", [
    (["good", "great"], r"leaves class\(es\) \['negative'\]"),
    (["good", "awful"], "'awful' is not one of this verbalizer's words"),
    (["good", "bad", "good"], "'good' is asked for twice"),
    (Verbalizer({"negative": ["great"], "positive": ["good"]}), "'great' is a 'positive' word here, not 'negative'"),
    (Verbalizer({"positive": ["good"], "negative": ["bad"]}), "must be this verbalizer's classes"),
])
def test_subset_refuses_what_it_cannot_take(tiny_tokenizer, words, message):
    everything = Verbalizer({"negative": ["terrible", "bad"], "positive": ["great", "good"]}).bind(tiny_tokenizer)
    with pytest.raises(VerbalizerError, match=message):
        everything.subset(words)


def test_word_scores_of_the_wrong_width_are_refused(tiny_tokenizer):
    bound = Verbalizer({"negative": ["terrible", "bad"], "positive": ["great"]}).bind(tiny_tokenizer)
    with pytest.raises(VerbalizerError, match=r"shape \(n, 3\)"):
        bound.class_probs(np.zeros((2, 4)))


def test_a_bound_verbalizer_compares_by_identity(tiny_tokenizer):
    verbalizer = Verbalizer({"negative": ["bad"], "positive": ["good"]})
    a, b = verbalizer.bind(tiny_tokenizer), verbalizer.bind(tiny_tokenizer)
    assert a == a and a != b  # == must compare the numpy field without "truth value ... is ambiguous"
    assert len({a, b}) == 2


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
    bound = Verbalizer({"negative": ["terrible", "bad"], "positive": ["great"]},
                       aggregate=aggregate).bind(tiny_tokenizer)
    word_logprobs = np.log([[0.2, 0.05, 0.1]])
    np.testing.assert_allclose(bound.class_logits(word_logprobs)[0], expected)
    probs = bound.class_probs(word_logprobs)[0]
    np.testing.assert_allclose(probs, np.exp(expected) / np.exp(expected).sum())
