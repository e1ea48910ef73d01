"""evaluate_classifier and its report: hand-computed metrics on small cases."""

import numpy as np
import pytest

from helpers import Template, Verbalizer
from helpers.evaluation import classifier_report, confusion_matrix, evaluate_classifier
from helpers.examples import written_reviews


def test_confusion_matrix_counts_true_rows_predicted_columns():
    m = confusion_matrix([0, 0, 1, 1, 1, 2], [0, 1, 1, 1, 0, 2], 3)
    assert m.tolist() == [[1, 1, 0], [1, 2, 0], [0, 0, 1]]


def test_report_metrics_by_hand():
    # true:  pos pos pos neg neg ; predicted: pos pos neg neg pos
    report = classifier_report([1, 1, 1, 0, 0], [1, 1, 0, 0, 1], ["negative", "positive"])
    assert report.accuracy == pytest.approx(3 / 5)
    np.testing.assert_allclose(report.precision, [1 / 2, 2 / 3])
    np.testing.assert_allclose(report.recall, [1 / 2, 2 / 3])
    np.testing.assert_allclose(report.f1, [1 / 2, 2 / 3])
    np.testing.assert_allclose(report.predicted_share, [2 / 5, 3 / 5])
    lines = report.table().splitlines()
    assert lines[1].split() == ["negative", "0.500", "0.500", "0.500", "2", "2"]
    assert lines[-1] == "accuracy 0.600 on 5 texts; macro F1 0.583"


def test_a_class_never_predicted_has_zero_precision_not_nan():
    report = classifier_report([0, 1, 1], [1, 1, 1], ["negative", "positive"])
    assert report.precision.tolist() == [0.0, 2 / 3]
    assert report.f1[0] == 0.0


def test_evaluate_classifier_matches_classify(scorer):
    template = Template("{text} it was {mask}.")
    verbalizer = Verbalizer({"negative": ["bad"], "positive": ["good"]})
    texts = ["the movie", "the plot was terrible", "i loved it", "it was fine"]
    labels = [1, 0, 1, 1]
    report, probs = evaluate_classifier(scorer, texts, labels, template, verbalizer)
    np.testing.assert_allclose(probs, scorer.classify(texts, template, verbalizer))
    assert report.confusion.tolist() == confusion_matrix(labels, probs.argmax(1), 2).tolist()
    with pytest.raises(ValueError, match="4 texts but 3 labels"):
        evaluate_classifier(scorer, texts, labels[:3], template, verbalizer)


def test_written_reviews_are_balanced_and_labelled():
    reviews = written_reviews()
    assert len(reviews) == 40 and reviews.labels.sum() == 20
    assert len(set(reviews.texts)) == 40
    assert reviews.texts[0] == "I really like the film a lot." and reviews.labels[0] == 1
