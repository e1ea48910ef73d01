"""Few-shot fine-tuning on the tiny random BERT: the loss, copies, determinism, errors."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from helpers import MaskScorer, Template, Verbalizer, VerbalizerError
from helpers.finetune import HeadClassifier, class_scores, embed, head_finetune, logistic_regression, prompt_finetune

TEMPLATE = Template("{text} it was {mask} .")
VERBALIZER = Verbalizer({"negative": ["terrible", "bad"], "positive": ["great", "good"]})
TEXTS = ["i loved this movie", "the acting was awful", "a very fine story", "i hated the plot",
         "really great film", "not good , the story was bad", "it was wonderful", "a terrible film !"]
LABELS = [1, 0, 1, 0, 1, 0, 1, 0]


def state(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def no_dropout(model):
    quiet = copy.deepcopy(model)
    for module in quiet.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    return quiet


def true_class_logprob(model, tokenizer, verbalizer=VERBALIZER) -> float:
    probs = MaskScorer(model, tokenizer, progress=False).classify(TEXTS, TEMPLATE, verbalizer)
    return float(np.log(probs[np.arange(len(LABELS)), LABELS]).mean())


def tune(model, tokenizer, **kw):
    args = dict(epochs=15, lr=3e-3, batch_size=4, progress=False, device="cpu")
    return prompt_finetune(model, tokenizer, TEMPLATE, kw.pop("verbalizer", VERBALIZER), kw.pop("texts", TEXTS),
                           kw.pop("labels", LABELS), **(args | kw))


# ---- prompt_finetune ---------------------------------------------------------------------------
def test_prompt_loss_decreases_and_true_class_gains(tiny_model, tiny_tokenizer):
    losses: list[float] = []
    tuned = tune(tiny_model, tiny_tokenizer, loss_log=losses)
    assert len(losses) == 15 * 2  # 8 texts in batches of 4, 15 epochs
    assert np.mean(losses[-4:]) < np.mean(losses[:4]) - 0.1, losses
    assert true_class_logprob(tuned, tiny_tokenizer) > true_class_logprob(tiny_model, tiny_tokenizer) + 0.1


def test_first_loss_is_cross_entropy_of_classify(tiny_model, tiny_tokenizer):
    """Before any step the loss is -mean log P(true class), P as MaskScorer.classify computes it:
    full-vocabulary log-softmax at the mask, words combined by the verbalizer's aggregate."""
    quiet = no_dropout(tiny_model)
    for verbalizer in (VERBALIZER,
                       Verbalizer({"negative": ["awful", "bad"], "positive": ["fantastic", "great"]},
                                  aggregate="sum_prob", multi_token="parallel"),
                       Verbalizer({"negative": ["terrible"], "positive": ["wonderful", "fine"]},
                                  aggregate="max", multi_token="parallel")):
        losses: list[float] = []
        tune(quiet, tiny_tokenizer, verbalizer=verbalizer, batch_size=len(TEXTS), epochs=1, loss_log=losses)
        expected = -true_class_logprob(quiet, tiny_tokenizer, verbalizer)
        assert losses[0] == pytest.approx(expected, rel=1e-4, abs=1e-5), verbalizer


@pytest.mark.parametrize("mode", ["parallel", "iterative"])
def test_multi_token_words_are_trained(tiny_model, tiny_tokenizer, mode):
    split = Verbalizer({"negative": ["awful"], "positive": ["fantastic"]}, multi_token=mode)  # fan ##tastic
    assert true_class_logprob(tune(tiny_model, tiny_tokenizer, verbalizer=split), tiny_tokenizer, split) > \
        true_class_logprob(tiny_model, tiny_tokenizer, split) + 0.1


def test_multi_token_words_are_refused_by_default(tiny_model, tiny_tokenizer):
    with pytest.raises(VerbalizerError, match="pieces"):
        tune(tiny_model, tiny_tokenizer, verbalizer=Verbalizer({"negative": ["awful"], "positive": ["fantastic"]}))


def test_input_model_untouched(tiny_model, tiny_tokenizer):
    before, was_training = state(tiny_model), tiny_model.training
    tuned = tune(tiny_model, tiny_tokenizer)
    assert same_weights(state(tiny_model), before)
    assert tiny_model.training == was_training
    assert tuned is not tiny_model and not tuned.training
    assert not same_weights(state(tuned), before)
    # the tied decoder stays tied to the input embeddings in the copy
    assert tuned.cls.predictions.decoder.weight.data_ptr() == tuned.bert.embeddings.word_embeddings.weight.data_ptr()


def test_prompt_deterministic_per_seed(tiny_model, tiny_tokenizer):
    a, b = state(tune(tiny_model, tiny_tokenizer, seed=3)), state(tune(tiny_model, tiny_tokenizer, seed=3))
    assert same_weights(a, b)
    assert not same_weights(a, state(tune(tiny_model, tiny_tokenizer, seed=4)))


def test_prompt_leaves_global_rng_alone(tiny_model, tiny_tokenizer):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    tune(tiny_model, tiny_tokenizer, epochs=1)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("texts, labels, message", [
    ([], [], "empty"),
    (TEXTS, LABELS[:-1], "8 texts but 7 labels"),
    (TEXTS, [0, 1, 2, 0, 1, 0, 1, 0], "label 2 .*outside the 2 classes"),
    (TEXTS, [0, 1, -1, 0, 1, 0, 1, 0], "label -1"),
    (TEXTS, [1] * 8, r"\['negative'\] have no training example"),
])
def test_prompt_errors(tiny_model, tiny_tokenizer, texts, labels, message):
    with pytest.raises(ValueError, match=message):
        tune(tiny_model, tiny_tokenizer, texts=texts, labels=labels)


def test_prompt_type_errors(tiny_model, tiny_tokenizer):
    with pytest.raises(ValueError, match="have no training example"):  # one str is one text (as_texts)
        tune(tiny_model, tiny_tokenizer, texts="i loved it", labels=[1])
    with pytest.raises(TypeError, match=r"texts\[2\] is None"):
        tune(tiny_model, tiny_tokenizer, texts=TEXTS[:2] + [None] + TEXTS[3:])
    with pytest.raises(TypeError, match="class indices"):
        tune(tiny_model, tiny_tokenizer, labels=[str(y) for y in LABELS])
    with pytest.raises(ValueError, match="lr must be positive"):
        tune(tiny_model, tiny_tokenizer, lr=0.0)


def test_class_scores_match_numpy(tiny_tokenizer):
    rng = np.random.default_rng(0)
    for aggregate in ("mean_logprob", "sum_prob", "max"):
        bound = Verbalizer({"a": ["great", "good", "fine"], "b": ["bad"], "c": ["awful", "terrible"]},
                           aggregate=aggregate).bind(tiny_tokenizer)
        word_lp = np.log(rng.dirichlet(np.ones(6), size=5))
        np.testing.assert_allclose(class_scores(torch.tensor(word_lp), bound).numpy(), bound.class_logits(word_lp),
                                   rtol=1e-6)


# ---- head_finetune -------------------------------------------------------------------------------
def head(model, tokenizer, **kw):
    args = dict(epochs=15, lr=3e-3, batch_size=4, progress=False, device="cpu")
    return head_finetune(model, tokenizer, kw.pop("texts", TEXTS), kw.pop("labels", LABELS), **(args | kw))


def test_head_learns_and_predicts(tiny_model, tiny_tokenizer):
    losses: list[float] = []
    classifier = head(tiny_model, tiny_tokenizer, loss_log=losses)
    assert isinstance(classifier, HeadClassifier)
    assert np.mean(losses[-4:]) < np.mean(losses[:4]) - 0.1, losses
    probs = classifier.predict_proba(TEXTS)
    assert probs.shape == (8, 2)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
    assert (classifier.predict(TEXTS) == LABELS).mean() >= 0.75
    assert classifier.predict_proba("i loved it").shape == (1, 2)
    # order of the texts does not change a text's probabilities (length-sorted batches)
    np.testing.assert_allclose(classifier.predict_proba(TEXTS[::-1])[::-1], probs, rtol=1e-5, atol=1e-6)


def test_head_n_classes(tiny_model, tiny_tokenizer):
    labels = [0, 1, 2, 0, 1, 2, 0, 1]
    assert head(tiny_model, tiny_tokenizer, labels=labels, epochs=1).predict_proba(TEXTS).shape == (8, 3)
    with pytest.raises(ValueError, match=r"\['3'\] have no training example"):
        head(tiny_model, tiny_tokenizer, labels=labels, n_classes=4)


def test_head_input_model_untouched_and_deterministic(tiny_model, tiny_tokenizer):
    before = state(tiny_model)
    a = head(tiny_model, tiny_tokenizer, seed=1)
    assert same_weights(state(tiny_model), before)
    b, c = head(tiny_model, tiny_tokenizer, seed=1), head(tiny_model, tiny_tokenizer, seed=2)
    assert same_weights(state(a.encoder), state(b.encoder)) and same_weights(state(a.head), state(b.head))
    assert not same_weights(state(a.head), state(c.head))


@pytest.mark.parametrize("texts, labels, message", [
    ([], [], "empty"),
    (TEXTS[:3], LABELS, "3 texts but 8 labels"),
    (TEXTS, [0, 1, 5, 0, 1, 0, 1, 0], "label 5 .*outside"),
    (TEXTS, [0] * 8, r"\['1'\] have no training example"),
])
def test_head_errors(tiny_model, tiny_tokenizer, texts, labels, message):
    with pytest.raises(ValueError, match=message):
        head(tiny_model, tiny_tokenizer, texts=texts, labels=labels, n_classes=2)


# ---- mean pooling and the logistic-regression baseline -----------------------------------------
def test_mean_pooling_head_differs_from_cls_and_learns(tiny_model, tiny_tokenizer):
    args = dict(epochs=15, lr=3e-3, batch_size=4, progress=False, device="cpu")
    mean = head_finetune(tiny_model, tiny_tokenizer, TEXTS, LABELS, pooling="mean", **args)
    cls = head_finetune(tiny_model, tiny_tokenizer, TEXTS, LABELS, pooling="cls", **args)
    assert mean.pooling == "mean" and cls.pooling == "cls"
    assert not np.allclose(mean.predict_proba(TEXTS), cls.predict_proba(TEXTS))
    assert (mean.predict(TEXTS) == np.array(LABELS)).mean() >= 0.75
    with pytest.raises(ValueError, match="pooling"):
        head_finetune(tiny_model, tiny_tokenizer, TEXTS, LABELS, pooling="max", **args)


def test_embed_mean_pools_over_real_tokens_only(tiny_model, tiny_tokenizer):
    texts = ["a very fine story", "it was wonderful and the acting was great , i loved it"]
    together = embed(tiny_model, tiny_tokenizer, texts)             # the short text is padded here
    alone = np.vstack([embed(tiny_model, tiny_tokenizer, [t]) for t in texts])
    assert together.shape == (2, tiny_model.config.hidden_size)
    np.testing.assert_allclose(together, alone, atol=1e-5)
    enc = tiny_tokenizer(texts[:1], return_tensors="pt")
    with torch.no_grad():
        hidden = tiny_model.bert(**enc).last_hidden_state[0]
    np.testing.assert_allclose(together[0], hidden.mean(0).numpy(), atol=1e-5)
    np.testing.assert_allclose(embed(tiny_model, tiny_tokenizer, texts[:1], pooling="cls")[0], hidden[0].numpy(),
                               atol=1e-5)


def test_logistic_regression_separates_and_penalty_shrinks():
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(-1, 1, (20, 3)), rng.normal(1, 1, (20, 3))])
    y = np.array([0] * 20 + [1] * 20)
    loose, tight = logistic_regression(x, y, l2=1e-3), logistic_regression(x, y, l2=100.0)
    assert (loose.predict(x) == y).mean() > 0.85
    assert np.abs(tight.weight).sum() < np.abs(loose.weight).sum()
    np.testing.assert_allclose(loose.predict_proba(x).sum(1), 1.0)
    # at the optimum the gradient of the penalised loss is zero
    p = loose.predict_proba(x)
    z = (x - loose.mean) / loose.scale
    grad_w = (p - np.eye(2)[y]).T @ z / len(y) + 1e-3 / len(y) * loose.weight
    assert np.abs(grad_w).max() < 1e-5
    with pytest.raises(ValueError, match="l2"):
        logistic_regression(x, y, l2=0)
    with pytest.raises(ValueError, match="features"):
        loose.predict_proba(x[:, :2])
