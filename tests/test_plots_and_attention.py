"""Plots draw what they are given; attention weights cover every layer and the right tokens."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from helpers.attention import attention_for
from helpers.plots import (
    plot_class_probabilities,
    plot_confusion_matrix,
    plot_prompt_path,
    plot_three_ways,
    plot_top_k,
)


def test_top_k_plot_has_one_bar_per_token_most_likely_on_top():
    ax = plot_top_k([("great", 0.5), ("good", 0.2), ("fine", 0.1)], title="t")
    widths = [p.get_width() for p in ax.patches]
    assert widths == [0.1, 0.2, 0.5]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["fine", "good", "great"]


def test_confusion_matrix_plot_annotates_every_cell():
    ax = plot_confusion_matrix(np.array([[5, 1], [2, 7]]), ["neg", "pos"])
    assert sorted(t.get_text() for t in ax.texts) == ["1", "2", "5", "7"]


def test_class_probability_histograms():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6]])
    ax = plot_class_probabilities(probs, ["neg", "pos"])
    assert sum(p.get_height() for p in ax.patches) == 6  # 3 texts, 2 classes
    ax = plot_class_probabilities(probs, ["neg", "pos"], true_labels=np.array([0, 1, 1]))
    assert sum(p.get_height() for p in ax.patches) == 3
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["true neg", "true pos"]


def test_attention_for_returns_every_layer_and_the_tokens(tiny_model, tiny_tokenizer):
    attention, tokens = attention_for(tiny_model, tiny_tokenizer, "the movie was [MASK] .")
    assert tokens == ["[CLS]", "the", "movie", "was", "[MASK]", ".", "[SEP]"]
    assert len(attention) == 2 and attention[0].shape == (1, 2, 7, 7)
    np.testing.assert_allclose(attention[1].sum(-1).numpy(), 1.0, atol=1e-5)


def test_attention_views_refuse_long_text(tiny_model, tiny_tokenizer, monkeypatch):
    monkeypatch.setattr("helpers.attention.MAX_VIEW_TOKENS", 5)
    with pytest.raises(ValueError, match="shorter text"):
        attention_for(tiny_model, tiny_tokenizer, "the movie was [MASK] .")


def test_the_three_ways_diagram_uses_the_models_mask_token():
    texts = [t.get_text() for t in plot_three_ways("<mask>").texts]
    assert sum("<mask>" in t for t in texts) == 2 and not any("[MASK]" in t for t in texts)
    assert [t for t in texts if t[:2] in ("1.", "2.", "3.")] == [
        "1. masked-LM pretraining", "2. fine-tuning with a new head", "3. prompting"]


def test_the_prompt_path_ends_at_the_class_of_the_likeliest_label_word():
    ax = plot_prompt_path("a dull film", words=(("great", "positive", 0.01), ("terrible", "negative", 0.2)))
    texts = [t.get_text() for t in ax.texts]
    assert "class\nnegative" in texts and any("a dull film" in t and "It was [MASK]." in t for t in texts)
