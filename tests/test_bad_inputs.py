"""Ordinary mistakes a learner makes, run against the offline default model (not the tiny one).

Each one gives the right answer or a clear error, never a silently wrong answer. The model
loads once for the module (a few seconds, no network).
"""

import numpy as np
import pytest

from helpers import LabelledTexts, MaskScorer, Template, Verbalizer, VerbalizerError, load_mlm, load_sst2
from helpers.evaluation import confusion_matrix, evaluate_classifier

TEMPLATE = Template("{text} It was {mask}.")
GREAT_TERRIBLE = {"negative": ["terrible"], "positive": ["great"]}


@pytest.fixture(scope="module")
def default_scorer() -> MaskScorer:
    model, tokenizer = load_mlm(device="cpu")
    return MaskScorer(model, tokenizer, progress=False)


@pytest.fixture(scope="module")
def sst2_sample() -> LabelledTexts:
    data = load_sst2("validation")
    return LabelledTexts(data.texts[:48], data.labels[:48], data.label_names)


def test_one_string_is_one_row(default_scorer):
    probs = default_scorer.classify("A warm, funny story with a wonderful cast.", TEMPLATE, Verbalizer(GREAT_TERRIBLE))
    assert probs.shape == (1, 2)
    (per_mask,) = default_scorer.top_k("The capital of France is [MASK].", k=3)
    assert len(per_mask) == 3


def test_a_word_in_two_classes_or_twice_under_an_uncased_vocabulary_is_refused(default_scorer):
    with pytest.raises(VerbalizerError, match="'great' is given twice in classes 'negative' and 'positive'"):
        Verbalizer({"negative": ["terrible", "great"], "positive": ["great"]}).bind(default_scorer.tokenizer)
    with pytest.raises(VerbalizerError, match="'great' and 'Great' are the same tokens"):
        Verbalizer({"negative": ["terrible"], "positive": ["Great", "great"]}).bind(default_scorer.tokenizer)


def test_classes_are_matched_by_name_and_other_names_refused(default_scorer, sst2_sample):
    report, probs = evaluate_classifier(default_scorer, sst2_sample, TEMPLATE, Verbalizer(GREAT_TERRIBLE))
    reversed_order = Verbalizer({"positive": ["great"], "negative": ["terrible"]})
    same, same_probs = evaluate_classifier(default_scorer, sst2_sample, TEMPLATE, reversed_order)
    assert same == report and same.accuracy == report.accuracy
    np.testing.assert_allclose(same_probs, probs)
    assert report.accuracy > 0.5  # matched by position, the reversed verbalizer would score 1 - accuracy
    with pytest.raises(ValueError, match="the verbalizer's classes \\('good', 'bad'\\)"):
        evaluate_classifier(default_scorer, sst2_sample, TEMPLATE, Verbalizer({"good": ["great"], "bad": ["terrible"]}))


def test_a_label_outside_the_classes_is_refused(default_scorer, sst2_sample):
    bad = LabelledTexts(sst2_sample.texts[:3], np.array([0, 1, -1]), sst2_sample.label_names)
    with pytest.raises(ValueError, match=r"data.labels holds \[-1\], outside the classes 0..1"):
        evaluate_classifier(default_scorer, bad, TEMPLATE, Verbalizer(GREAT_TERRIBLE))
    with pytest.raises(ValueError, match=r"true labels holds \[2\]"):
        confusion_matrix([0, 2], [0, 1], 2)
