"""Measuring a prompt as a classifier: accuracy, per-class metrics and the confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .scorer import MaskScorer, TextInput
from .template import Template
from .verbalizer import Verbalizer

__all__ = ["ClassifierReport", "confusion_matrix", "classifier_report", "evaluate_classifier"]


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], n_classes: int) -> np.ndarray:
    """Counts (n_classes, n_classes): row = true class, column = predicted class."""
    matrix = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(matrix, (np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)), 1)
    return matrix


@dataclass(frozen=True)
class ClassifierReport:
    """What a classifier got right, overall and per class."""

    labels: tuple[str, ...]
    confusion: np.ndarray

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


def evaluate_classifier(scorer: MaskScorer, texts: Sequence[TextInput], labels: Sequence[int], template: Template,
                        verbalizer: Verbalizer, calibrate: bool | Sequence[str] | None = None
                        ) -> tuple[ClassifierReport, np.ndarray]:
    """Classify ``texts`` with the prompt; return the report and the class probabilities."""
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    probs = scorer.classify(texts, template, verbalizer, calibrate=calibrate)
    return classifier_report(labels, probs.argmax(axis=1), verbalizer.labels), probs
