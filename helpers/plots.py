"""Matplotlib plots the notebooks use: top-k bars, confusion matrices, probability histograms, and
two diagrams (three ways to use a masked LM; the path from a text to a class through a prompt)."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

__all__ = ["plot_top_k", "plot_confusion_matrix", "plot_class_probabilities", "plot_three_ways",
           "plot_prompt_path"]


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


def _box(ax: Axes, x: float, y: float, text: str, colour: str = "white", width: float = 0.0) -> None:
    """A text in a rounded box centred at (x, y), in axes coordinates."""
    ax.text(x, y, text, ha="center", va="center", fontsize=9, wrap=True,
            bbox={"boxstyle": "round,pad=0.4", "facecolor": colour, "edgecolor": "0.4"})


def _arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float], label: str = "") -> None:
    ax.annotate("", xy=end, xytext=start, arrowprops={"arrowstyle": "->", "color": "0.3"})
    if label:
        ax.text((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + 0.04, label, ha="center", fontsize=8, color="0.3")


def plot_three_ways(mask_token: str = "[MASK]") -> Axes:
    """Pretraining, fine-tuning with a new head, and prompting, as three rows (after LM-BFF's Figure 1,
    Gao et al. 2021): what goes in, what comes out, and what is trained."""
    ax = _axes(None, (9, 5))
    rows = [
        ("1. masked-LM pretraining", f"the movie was {mask_token}\nand too long", "MLM head:\nscores for every word",
         "'boring'\n(the word that was there)", "trained: all weights, on raw text"),
        ("2. fine-tuning with a new head", "[CLS] the movie was boring\nand too long",
         "new linear head\non a sentence vector", "class\nnegative",
         "trained: all weights and the new head, on labelled examples"),
        ("3. prompting", f"the movie was boring and too long.\nIt was {mask_token}.",
         "the same MLM head:\nlabel words only", "'terrible' > 'great'\n-> negative",
         "trained: nothing (zero-shot), or all weights with the MLM loss (few-shot)"),
    ]
    for i, (name, text, head, out, trained) in enumerate(rows):
        y = 0.8 - 0.31 * i
        ax.text(0.0, y + 0.12, name, ha="left", va="center", fontsize=10, weight="bold")
        _box(ax, 0.17, y, text, "#e8f0fb")
        _arrow(ax, (0.36, y), (0.45, y))
        _box(ax, 0.56, y, head, "#fdf2e3")
        _arrow(ax, (0.67, y), (0.76, y))
        _box(ax, 0.88, y, out, "#e9f6ea")
        ax.text(0.0, y - 0.1, trained, ha="left", va="center", fontsize=8, color="0.35")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(0.08, 1.0)
    ax.axis("off")
    ax.set_title("Three ways to use a masked language model", fontsize=11)
    return ax


def plot_prompt_path(text: str = "a gorgeous, witty film", template: str = "{text} It was {mask}.",
                     words: Sequence[tuple[str, str, float]] = (("great", "positive", 0.031),
                                                                ("terrible", "negative", 0.004)),
                     mask_token: str = "[MASK]") -> Axes:
    """The path of prompt-based classification: text -> template -> scores at the mask -> label
    words -> class. ``words`` are (label word, class, probability) triples to draw; the default
    numbers are made up for the picture (the notebooks compute real ones)."""
    ax = _axes(None, (9.5, 2.4))
    filled = template.replace("{text}", text + "\n").replace("{mask}", mask_token)
    best = max(words, key=lambda w: w[2])
    steps = [(0.08, f"text\n{text}"), (0.3, f"template filled in\n{filled}"),
             (0.52, f"scores at {mask_token}\nfor every word\nof the vocabulary"),
             (0.73, "label words\n" + "\n".join(f"{w} ({c}): {p:.3f}" for w, c, p in words)),
             (0.93, f"class\n{best[1]}")]
    colours = ["#ffffff", "#e8f0fb", "#fdf2e3", "#fdf2e3", "#e9f6ea"]
    width = [0.08, 0.09, 0.07, 0.09, 0.05]
    for (x, label), colour in zip(steps, colours):
        _box(ax, x, 0.55, label, colour)
    for (x0, _), (x1, _), w0, w1 in zip(steps, steps[1:], width, width[1:]):
        _arrow(ax, (x0 + w0, 0.55), (x1 - w1, 0.55))
    ax.text(0.5, 0.05, "template and label words: chosen by hand (notebooks 2-4) or found from data (notebook 7)",
            ha="center", fontsize=8, color="0.35")
    ax.set_xlim(-0.03, 1.01)
    ax.set_ylim(0, 1)
    ax.axis("off")
    return ax
