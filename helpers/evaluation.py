"""Measuring a prompt as a classifier: accuracy, per-class metrics, the confusion matrix, and
how sure a number is: bootstrap intervals, a paired test of two classifiers, mean and spread
over seeds."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .inputs import as_texts

if TYPE_CHECKING:
    from .data_files import LabelledTexts
    from .scorer import MaskScorer
    from .template import Template
    from .verbalizer import BoundVerbalizer, Verbalizer

__all__ = ["ClassifierReport", "Interval", "PairedComparison", "bootstrap_interval", "classifier_report",
           "compare_paired", "confusion_matrix", "evaluate_classifier", "seed_interval", "seed_summary"]


def _class_indices(values: Sequence[int], n_classes: int, what: str) -> np.ndarray:
    """Class indices as an int array; refuse anything outside 0..n_classes-1 or not whole."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{what} must be a 1-D sequence of class indices, got shape {array.shape}")
    if array.size and not (np.issubdtype(array.dtype, np.integer)
                           or (np.issubdtype(array.dtype, np.floating) and np.all(array == np.round(array)))):
        raise ValueError(f"{what} must be whole class indices 0..{n_classes - 1}, got {array[:5].tolist()}...")
    array = array.astype(int)
    bad = sorted(set(array[(array < 0) | (array >= n_classes)].tolist()))
    if bad:
        raise ValueError(f"{what} holds {bad}, outside the classes 0..{n_classes - 1}; "
                         "map every label to a class index first")
    return array


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], n_classes: int) -> np.ndarray:
    """Counts (n_classes, n_classes): row = true class, column = predicted class.

    Raises ``ValueError`` for a label outside ``0..n_classes-1`` (naming it) and for
    sequences of different lengths.
    """
    true = _class_indices(y_true, n_classes, "true labels")
    pred = _class_indices(y_pred, n_classes, "predicted labels")
    if len(true) != len(pred):
        raise ValueError(f"{len(true)} true labels but {len(pred)} predicted ones")
    matrix = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(matrix, (true, pred), 1)
    return matrix


@dataclass(frozen=True, eq=False)
class ClassifierReport:
    """What a classifier got right, overall and per class.

    Two reports are equal when they have the same labels and the same confusion counts.
    """

    labels: tuple[str, ...]
    confusion: np.ndarray  # (n_classes, n_classes): row = true class, column = predicted

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ClassifierReport):
            return NotImplemented
        return self.labels == other.labels and np.array_equal(self.confusion, other.confusion)

    def __hash__(self) -> int:
        return hash((self.labels, self.confusion.shape, np.asarray(self.confusion, dtype=np.int64).tobytes()))

    @property
    def n(self) -> int:
        """Number of texts."""
        return int(self.confusion.sum())

    @property
    def accuracy(self) -> float:
        """Share of texts whose predicted class is the true one."""
        return float(np.trace(self.confusion) / max(1, self.n))

    @property
    def precision(self) -> np.ndarray:
        """Per class: of the texts predicted as it, the share truly of it (0 when none predicted)."""
        predicted = self.confusion.sum(axis=0)
        return np.divide(np.diag(self.confusion), predicted, out=np.zeros(len(self.labels)), where=predicted > 0)

    @property
    def recall(self) -> np.ndarray:
        """Per class: of the texts truly of it, the share predicted as it."""
        actual = self.confusion.sum(axis=1)
        return np.divide(np.diag(self.confusion), actual, out=np.zeros(len(self.labels)), where=actual > 0)

    @property
    def f1(self) -> np.ndarray:
        """Per class: harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return np.divide(2 * p * r, p + r, out=np.zeros(len(self.labels)), where=(p + r) > 0)

    @property
    def predicted_share(self) -> np.ndarray:
        """Per class: the share of all texts predicted as it."""
        return self.confusion.sum(axis=0) / max(1, self.n)

    def table(self) -> str:
        """A plain-text table: one row per class, then accuracy and macro F1."""
        rows = [f"{'class':<12}{'precision':>10}{'recall':>8}{'f1':>7}{'predicted':>11}{'true':>6}"]
        for i, name in enumerate(self.labels):
            rows.append(f"{name:<12}{self.precision[i]:>10.3f}{self.recall[i]:>8.3f}{self.f1[i]:>7.3f}"
                        f"{self.confusion[:, i].sum():>11d}{self.confusion[i].sum():>6d}")
        rows.append(f"accuracy {self.accuracy:.3f} on {self.n} texts; macro F1 {self.f1.mean():.3f}")
        return "\n".join(rows)


def classifier_report(y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[str]) -> ClassifierReport:
    """Build a report from true and predicted class indices."""
    return ClassifierReport(tuple(labels), confusion_matrix(y_true, y_pred, len(labels)))


def evaluate_classifier(scorer: MaskScorer, data: LabelledTexts, template: Template,
                        verbalizer: Verbalizer | BoundVerbalizer, **classify_kwargs
                        ) -> tuple[ClassifierReport, np.ndarray]:
    """Classify ``data.texts`` with the prompt; return the report and the class probabilities.

    Classes are matched by name: ``data.label_names[i]`` names label ``i``, and
    ``verbalizer.labels`` must hold the same names, in any order. The report and the
    probabilities (n, n_classes) follow ``data.label_names``' order, so
    ``probs.argmax(1)`` compares directly with ``data.labels``. ``classify_kwargs`` go to
    ``MaskScorer.classify`` (e.g. ``calibrate=True``).
    """
    if not all(hasattr(data, a) for a in ("texts", "labels", "label_names")):
        raise TypeError(
            f"data must be a LabelledTexts (texts, labels, label_names), got {type(data).__name__}; e.g. "
            "evaluate_classifier(scorer, LabelledTexts(texts, labels, ('negative', 'positive')), template, verbalizer)"
        )
    names = tuple(data.label_names)
    if len(set(names)) != len(names):
        raise ValueError(f"data.label_names {names} name a class twice")
    if sorted(names) != sorted(verbalizer.labels):
        raise ValueError(f"the data's classes {names} and the verbalizer's classes {tuple(verbalizer.labels)} "
                         "differ; name the verbalizer's classes as the data does (any order)")
    texts, _ = as_texts(data.texts, what="data.texts")
    labels = _class_indices(data.labels, len(names), "data.labels")
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    probs = scorer.classify(texts, template, verbalizer, **classify_kwargs)
    probs = probs[:, [list(verbalizer.labels).index(name) for name in names]]
    return classifier_report(labels, probs.argmax(axis=1), names), probs


@dataclass(frozen=True)
class Interval:
    """A measured value with a confidence interval: ``low <= value <= high`` at ``level``."""

    value: float
    low: float
    high: float
    level: float = 0.95

    def __str__(self) -> str:
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}]"


def _metric_fn(metric: str, n_classes: int):
    if metric == "accuracy":
        return lambda t, p: float(np.mean(t == p)) if len(t) else 0.0
    if metric == "macro_f1":
        return lambda t, p: float(classifier_report(t, p, [str(i) for i in range(n_classes)]).f1.mean())
    raise ValueError(f"metric must be 'accuracy' or 'macro_f1', got {metric!r}")


def bootstrap_interval(y_true: Sequence[int], y_pred: Sequence[int], metric: str = "accuracy",
                       n_resamples: int = 1000, level: float = 0.95, seed: int = 0,
                       n_classes: int | None = None) -> Interval:
    """Percentile bootstrap interval of ``metric`` ("accuracy" or "macro_f1") over the examples.

    Resamples the (true, predicted) pairs with replacement ``n_resamples`` times (Efron &
    Tibshirani 1993); the interval is the central ``level`` share of the resampled values.
    Seeded, so the same call gives the same interval.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    k = n_classes or int(max(max(y_true, default=0), max(y_pred, default=0))) + 1
    true, pred = _class_indices(y_true, k, "true labels"), _class_indices(y_pred, k, "predicted labels")
    if len(true) != len(pred):
        raise ValueError(f"{len(true)} true labels but {len(pred)} predicted ones")
    fn = _metric_fn(metric, k)
    value = fn(true, pred)
    if len(true) == 0:
        return Interval(value, value, value, level)
    rows = np.random.default_rng(seed).integers(0, len(true), size=(n_resamples, len(true)))
    if metric == "accuracy":
        samples = (true[rows] == pred[rows]).mean(axis=1)
    else:
        samples = np.array([fn(true[r], pred[r]) for r in rows])
    low, high = np.quantile(samples, [(1 - level) / 2, (1 + level) / 2])
    return Interval(value, float(low), float(high), level)


@dataclass(frozen=True)
class PairedComparison:
    """Two classifiers on the same examples: who is right where the other is wrong.

    ``only_a`` / ``only_b``: examples only A / only B gets right; ``p_value``: McNemar's exact
    test (a two-sided binomial test on those discordant pairs, McNemar 1947).
    """

    accuracy_a: float
    accuracy_b: float
    only_a: int
    only_b: int
    p_value: float

    @property
    def difference(self) -> float:
        """Accuracy of A minus accuracy of B."""
        return self.accuracy_a - self.accuracy_b

    def __str__(self) -> str:
        return (f"A {self.accuracy_a:.3f} vs B {self.accuracy_b:.3f} (difference {self.difference:+.3f}); "
                f"only A right on {self.only_a}, only B on {self.only_b}; McNemar p = {self.p_value:.3g}")


def _binomial_two_sided(k: int, n: int) -> float:
    """Exact two-sided p-value of k or fewer successes of n (or as extreme) at p = 1/2."""
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(k, n - k) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def compare_paired(y_true: Sequence[int], pred_a: Sequence[int], pred_b: Sequence[int]) -> PairedComparison:
    """Compare two classifiers' predictions on the same examples with McNemar's exact test.

    Only the examples on which they disagree about correctness carry information; a small
    p-value says the difference in accuracy is unlikely to be chance.
    """
    true, a, b = (np.asarray(x) for x in (y_true, pred_a, pred_b))
    if not (len(true) == len(a) == len(b)):
        raise ValueError(f"{len(true)} true labels, {len(a)} predictions of A and {len(b)} of B: "
                         "compare the two classifiers on the same examples")
    right_a, right_b = a == true, b == true
    only_a, only_b = int((right_a & ~right_b).sum()), int((right_b & ~right_a).sum())
    n = max(1, len(true))
    return PairedComparison(float(right_a.sum() / n), float(right_b.sum() / n), only_a, only_b,
                            _binomial_two_sided(min(only_a, only_b), only_a + only_b))


def seed_summary(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (n - 1) of one number measured over seeds (0 for one seed)."""
    array = np.asarray(values, dtype=float)
    if array.size == 0:
        raise ValueError("seed_summary needs at least one value")
    return float(array.mean()), float(array.std(ddof=1)) if array.size > 1 else 0.0


def seed_interval(values: Sequence[float], level: float = 0.95) -> Interval:
    """The mean over seeds with its t-interval: mean +- t_{(1+level)/2, n-1} * s / sqrt(n).

    ``s`` is the sample standard deviation of ``seed_summary``; with one seed the interval is
    the mean itself.
    """
    from scipy.stats import t

    mean, std = seed_summary(values)
    n = len(values)
    half = float(t.ppf((1 + level) / 2, n - 1)) * std / math.sqrt(n) if n > 1 else 0.0
    return Interval(mean, mean - half, mean + half, level)
