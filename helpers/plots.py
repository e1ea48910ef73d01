"""Matplotlib plots the notebooks use: top-k bars, confusion matrices, probability histograms."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

__all__ = ["plot_top_k", "plot_confusion_matrix", "plot_class_probabilities"]


def _axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    return ax if ax is not None else plt.subplots(figsize=size)[1]


def plot_top_k(predictions: Sequence[tuple[str, float]], title: str = "", ax: Axes | None = None) -> Axes:
    """Horizontal bars of (token, probability) pairs, the most likely on top."""
    ax = _axes(ax, (5, 0.4 * len(predictions) + 1))
    tokens = [t for t, _ in predictions][::-1]
    probs = [p for _, p in predictions][::-1]
    ax.barh(tokens, probs, color="tab:blue")
    for y, p in enumerate(probs):
        ax.text(p, y, f" {p:.3f}", va="center", fontsize=9)
    ax.set_xlim(0, max(probs) * 1.25 if probs else 1)
    ax.set_xlabel("probability at [MASK]")
    ax.set_title(title)
    return ax


def plot_confusion_matrix(matrix: np.ndarray, labels: Sequence[str], ax: Axes | None = None,
                          title: str = "") -> Axes:
    """Counts of true (rows) against predicted (columns) classes, each cell annotated."""
    matrix = np.asarray(matrix)
    ax = _axes(ax, (1.2 * len(labels) + 2, 1.1 * len(labels) + 1.5))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    half = matrix.max() / 2 if matrix.size else 0
    for (i, j), v in np.ndenumerate(matrix):
        ax.text(j, i, f"{v}", ha="center", va="center", color="white" if v > half else "black")
    ax.set_title(title)
    return ax


def plot_class_probabilities(probs: np.ndarray, class_names: Sequence[str], true_labels: np.ndarray | None = None,
                             ax: Axes | None = None, bins: int = 20) -> Axes:
    """Histogram of each class's predicted probability; with ``true_labels``, split by true class."""
    probs = np.asarray(probs)
    ax = _axes(ax, (6, 3.5))
    edges = np.linspace(0, 1, bins + 1)
    if true_labels is None:
        for c, name in enumerate(class_names):
            ax.hist(probs[:, c], bins=edges, alpha=0.6, label=f"P({name})")
        ax.set_xlabel("predicted probability")
    else:
        last = len(class_names) - 1
        for c, name in enumerate(class_names):
            ax.hist(probs[np.asarray(true_labels) == c, last], bins=edges, alpha=0.6, label=f"true {name}")
        ax.set_xlabel(f"predicted P({class_names[last]})")
    ax.set_ylabel("texts")
    ax.legend()
    return ax
