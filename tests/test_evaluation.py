"""evaluate_classifier and its report: hand-computed metrics on small cases."""

import math

import numpy as np
import pytest

from helpers import LabelledTexts, Template, Verbalizer
from helpers.evaluation import (
    ClassifierReport,
    Interval,
    bootstrap_interval,
    classifier_report,
    compare_paired,
    confusion_matrix,
    evaluate_classifier,
    seed_interval,
    seed_summary,
)
from helpers.examples import written_reviews


def test_confusion_matrix_counts_true_rows_predicted_columns():
    # asymmetric: swapping true and predicted gives the transpose, which differs
    m = confusion_matrix([0, 0, 0, 1, 1, 2], [0, 1, 2, 1, 1, 2], 3)
    assert m.tolist() == [[1, 1, 1], [0, 2, 0], [0, 0, 1]]


@pytest.mark.parametrize("y_true, y_pred, message", [
    ([0, -1], [0, 1], r"true labels holds \[-1\], outside the classes 0..1"),
    ([0, 1], [0, 2], r"predicted labels holds \[2\], outside the classes 0..1"),
    ([0, 0.5], [0, 1], "whole class indices"),
    ([0, 1, 1], [0, 1], "3 true labels but 2 predicted"),
])
def test_confusion_matrix_refuses_labels_it_cannot_count(y_true, y_pred, message):
    with pytest.raises(ValueError, match=message):
        confusion_matrix(y_true, y_pred, 2)


def test_report_metrics_by_hand():
    # true:  pos pos pos pos neg ; predicted: pos pos pos neg pos  (asymmetric)
    report = classifier_report([1, 1, 1, 1, 0], [1, 1, 1, 0, 1], ["negative", "positive"])
    assert report.confusion.tolist() == [[0, 1], [1, 3]]
    assert report.accuracy == pytest.approx(3 / 5)
    np.testing.assert_allclose(report.precision, [0, 3 / 4])
    np.testing.assert_allclose(report.recall, [0, 3 / 4])
    report = classifier_report([1, 1, 1, 0, 0], [1, 1, 0, 0, 0], ["negative", "positive"])
    np.testing.assert_allclose(report.precision, [2 / 3, 1])   # of 3 said negative, 2 were
    np.testing.assert_allclose(report.recall, [1, 2 / 3])      # of 3 truly positive, 2 found
    np.testing.assert_allclose(report.f1, [0.8, 0.8])
    np.testing.assert_allclose(report.predicted_share, [3 / 5, 2 / 5])
    lines = report.table().splitlines()
    assert lines[1].split() == ["negative", "0.667", "1.000", "0.800", "3", "2"]
    assert lines[2].split() == ["positive", "1.000", "0.667", "0.800", "2", "3"]
    assert lines[-1] == "accuracy 0.800 on 5 texts; macro F1 0.800"


def test_a_class_never_predicted_has_zero_precision_not_nan():
    report = classifier_report([0, 1, 1], [1, 1, 1], ["negative", "positive"])
    assert report.precision.tolist() == [0.0, 2 / 3]
    assert report.f1[0] == 0.0


def test_reports_compare_by_labels_and_counts():
    a = classifier_report([0, 1, 1], [0, 1, 0], ["negative", "positive"])
    same = ClassifierReport(("negative", "positive"), np.array([[1, 0], [1, 1]], dtype=np.int32))
    assert a == same and hash(a) == hash(same)
    assert a != classifier_report([0, 1, 1], [0, 1, 1], ["negative", "positive"])
    assert a != ClassifierReport(("neg", "pos"), a.confusion)


TEXTS = ["the movie", "the plot was terrible", "i loved it", "it was fine", "the acting was bad"]
LABELS = np.array([1, 0, 1, 1, 0])


def test_evaluate_classifier_matches_classify(scorer):
    template = Template("{text} it was {mask}.")
    verbalizer = Verbalizer({"negative": ["bad"], "positive": ["good"]})
    report, probs = evaluate_classifier(scorer, LabelledTexts(TEXTS, LABELS), template, verbalizer)
    np.testing.assert_allclose(probs, scorer.classify(TEXTS, template, verbalizer))
    assert report.labels == ("negative", "positive")
    assert report.confusion.tolist() == confusion_matrix(LABELS, probs.argmax(1), 2).tolist()
    calibrated, p = evaluate_classifier(scorer, LabelledTexts(TEXTS, LABELS), template, verbalizer, calibrate=True)
    np.testing.assert_allclose(p, scorer.classify(TEXTS, template, verbalizer, calibrate=True))
    with pytest.raises(ValueError, match="5 texts but 4 labels"):
        evaluate_classifier(scorer, LabelledTexts(TEXTS, LABELS[:4]), template, verbalizer)


def test_classes_are_matched_by_name_not_position(scorer):
    template = Template("{text} it was {mask}.")
    data = LabelledTexts(TEXTS, LABELS, ("negative", "positive"))
    report, probs = evaluate_classifier(scorer, data, template, Verbalizer({"negative": ["bad"], "positive": ["good"]}))
    flipped, flipped_probs = evaluate_classifier(scorer, data, template,
                                                 Verbalizer({"positive": ["good"], "negative": ["bad"]}))
    assert flipped == report
    np.testing.assert_allclose(flipped_probs, probs)
    with pytest.raises(ValueError, match=r"\('negative', 'positive'\) and the verbalizer's classes \('bad', 'good'\)"):
        evaluate_classifier(scorer, data, template, Verbalizer({"bad": ["bad"], "good": ["good"]}))


def test_evaluate_classifier_refuses_the_old_call_and_bad_labels(scorer):
    template = Template("{text} it was {mask}.")
    verbalizer = Verbalizer({"negative": ["bad"], "positive": ["good"]})
    with pytest.raises(TypeError, match="data must be a LabelledTexts"):
        evaluate_classifier(scorer, TEXTS, template, verbalizer)
    with pytest.raises(ValueError, match=r"data.labels holds \[2\], outside the classes 0..1"):
        evaluate_classifier(scorer, LabelledTexts(TEXTS, np.array([1, 0, 2, 1, 0])), template, verbalizer)
    with pytest.raises(ValueError, match=r"data.labels holds \[-1\], outside the classes 0..1"):
        evaluate_classifier(scorer, LabelledTexts(TEXTS, np.array([1, 0, -1, 1, 0])), template, verbalizer)


def test_written_reviews_are_balanced_and_labelled():
    reviews = written_reviews()
    assert len(reviews) == 40 and reviews.labels.sum() == 20
    assert len(set(reviews.texts)) == 40
    assert reviews.texts[0] == "I really like the film a lot." and reviews.labels[0] == 1


# ---- uncertainty -------------------------------------------------------------------------

def test_bootstrap_interval_brackets_the_accuracy_and_narrows_with_more_examples():
    true = [0, 1] * 50
    pred = [0, 1] * 40 + [1, 0] * 10  # 80 of 100 right
    small = bootstrap_interval(true, pred, n_resamples=2000)
    assert small.value == 0.8 and small.low < 0.8 < small.high
    se = math.sqrt(0.8 * 0.2 / 100)  # the normal approximation's half-width, by hand
    assert abs((small.high - small.low) / 2 - 1.96 * se) < 0.02
    big = bootstrap_interval(true * 9, pred * 9, n_resamples=2000)
    assert big.high - big.low < (small.high - small.low) / 2
    assert bootstrap_interval(true, pred, seed=3) == bootstrap_interval(true, pred, seed=3)


def test_bootstrap_interval_of_macro_f1_and_bad_input():
    true, pred = [0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 2, 0]
    interval = bootstrap_interval(true, pred, metric="macro_f1", n_resamples=200)
    per_class = [0.5, 2 * (2 / 3) * 1 / (5 / 3), 2 * 1 * 0.5 / 1.5]  # by hand: F1 of classes 0, 1, 2
    assert abs(interval.value - sum(per_class) / 3) < 1e-9
    with pytest.raises(ValueError, match="metric"):
        bootstrap_interval(true, pred, metric="recall")
    with pytest.raises(ValueError, match="level"):
        bootstrap_interval(true, pred, level=95)


def test_compare_paired_counts_discordant_pairs_and_gives_mcnemars_exact_p():
    true = [1] * 20
    a = [1] * 15 + [0] * 5      # 15 right
    b = [1] * 10 + [0] * 10     # 10 right; A alone right on 5, B alone on 0
    result = compare_paired(true, a, b)
    assert (result.only_a, result.only_b) == (5, 0)
    assert abs(result.difference - 0.25) < 1e-12
    assert abs(result.p_value - 2 / 2 ** 5) < 1e-12  # two-sided binomial, 0 of 5 at p = 1/2
    same = compare_paired(true, a, a)
    assert same.p_value == 1.0 and same.difference == 0
    swapped = compare_paired(true, b, a)
    assert (swapped.only_a, swapped.only_b) == (0, 5) and swapped.p_value == result.p_value
    with pytest.raises(ValueError, match="same examples"):
        compare_paired(true, a, b[:-1])


def test_seed_summary_is_mean_and_sample_std():
    mean, std = seed_summary([0.6, 0.7, 0.8])
    assert abs(mean - 0.7) < 1e-12 and abs(std - 0.1) < 1e-12
    assert seed_summary([0.5]) == (0.5, 0.0)
    with pytest.raises(ValueError):
        seed_summary([])


def test_seed_interval_is_the_t_interval_of_the_mean():
    # five seeds: t_{0.975, 4} = 2.776 (a table value); half-width 2.776 * s / sqrt(5)
    values = [0.70, 0.72, 0.75, 0.68, 0.73]
    mean, std = seed_summary(values)
    interval = seed_interval(values)
    assert interval.value == mean and interval.level == 0.95
    assert abs(interval.high - mean - 2.776 * std / 5 ** 0.5) < 1e-4
    assert abs((mean - interval.low) - (interval.high - mean)) < 1e-12
    assert seed_interval([0.5]) == Interval(0.5, 0.5, 0.5, 0.95)
