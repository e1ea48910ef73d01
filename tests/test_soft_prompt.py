"""helpers.soft_prompt on the tiny random BERT: frozen model, learning, save/load, determinism, errors."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from helpers import SoftPrompt, Template, TemplateError, Verbalizer, VerbalizerError, prompt_tune

TEMPLATE = Template("{text} it was {mask} .")
VERBALIZER = Verbalizer({"negative": ["awful"], "positive": ["fine"]})
TEXTS = ["i hated the movie", "the plot was bad", "i hated this film", "i loved the movie",
         "the plot was good", "i loved this film"]
LABELS = [0, 0, 0, 1, 1, 1]


def checksum(model) -> str:
    digest = hashlib.sha256()
    for name, p in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(p.detach().cpu().numpy().tobytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def taught(tiny_model, tiny_tokenizer):
    """The tiny model fine-tuned on another prompt ("the film ."), so that the mask depends on the text."""
    from helpers.finetune import prompt_finetune

    other = Verbalizer({"negative": ["bad"], "positive": ["good"]})
    return prompt_finetune(tiny_model, tiny_tokenizer, Template("{text} the film {mask} ."), other, TEXTS, LABELS,
                           epochs=30, lr=3e-3, batch_size=6, seed=0, progress=False)


def nll(prompt) -> float:
    """Mean negative log-probability of the gold class on the training texts."""
    return float(-np.log(prompt.classify(TEXTS)[np.arange(len(LABELS)), LABELS]).mean())


@pytest.mark.parametrize("encoder", [None, "mlp", "lstm"])
def test_untrained_prompt_is_the_hand_prompt(tiny_model, tiny_tokenizer, scorer, encoder):
    untrained = prompt_tune(tiny_model, tiny_tokenizer, TEMPLATE, VERBALIZER, TEXTS, LABELS, steps=0, encoder=encoder)
    hand = scorer.classify(TEXTS, TEMPLATE, VERBALIZER)
    assert untrained.n_tokens == 2  # "it" and "was"; "." stays as an anchor
    np.testing.assert_allclose(untrained.classify(TEXTS), hand, atol=1e-5)
    np.testing.assert_allclose(untrained.classify(TEXTS, calibrate=True),
                               scorer.classify(TEXTS, TEMPLATE, VERBALIZER, calibrate=True), atol=1e-5)
    assert [words[0][0] for words in untrained.nearest_words(3)] == ["it", "was"]


@pytest.mark.parametrize("encoder", [None, "lstm"])
def test_training_fits_and_leaves_the_model_untouched(taught, tiny_tokenizer, encoder):
    tiny_model = taught
    before = checksum(tiny_model)
    flags = [p.requires_grad for p in tiny_model.parameters()]
    grads = [None if p.grad is None else p.grad.clone() for p in tiny_model.parameters()]
    losses = []
    tuned = prompt_tune(tiny_model, tiny_tokenizer, TEMPLATE, VERBALIZER, TEXTS, LABELS, n_tokens=2, steps=40,
                        lr=1e-2, batch_size=6, encoder=encoder, loss_log=losses)
    assert checksum(tiny_model) == before
    assert [p.requires_grad for p in tiny_model.parameters()] == flags
    assert all((g is None and p.grad is None) or torch.equal(g, p.grad) for g, p in zip(grads, tiny_model.parameters()))
    assert len(losses) == 40 and np.mean(losses[-5:]) < np.mean(losses[:5]) - 0.003
    untrained = prompt_tune(tiny_model, tiny_tokenizer, TEMPLATE, VERBALIZER, TEXTS, LABELS, n_tokens=2, steps=0,
                            encoder=encoder)
    assert nll(tuned) < nll(untrained) - 0.003
    probs = tuned.classify(TEXTS)
    assert probs.shape == (6, 2) and np.allclose(probs.sum(axis=1), 1)


def test_same_seed_same_prompt_other_seed_other_prompt(tiny_model, tiny_tokenizer):
    def run(seed):
        return prompt_tune(tiny_model, tiny_tokenizer, TEMPLATE, VERBALIZER, TEXTS, LABELS, seed=seed, n_tokens=5,
                           steps=6, batch_size=2).vectors
    first, again, other = run(0), run(0), run(1)
    assert torch.equal(first, again)
    assert not torch.allclose(first, other)


def test_save_and_load_give_identical_predictions(tiny_model, tiny_tokenizer, tmp_path):
    tuned = prompt_tune(tiny_model, tiny_tokenizer, TEMPLATE, VERBALIZER, TEXTS, LABELS, n_tokens=3, steps=5,
                        encoder="mlp")
    weights, config = tuned.save(tmp_path / "prompt")
    assert weights.suffix == ".safetensors" and config.suffix == ".json"
    assert weights.stat().st_size < 3 * 32 * 4 + 1024  # three vectors of 32 floats and a header
    fresh = type(tiny_model)(tiny_model.config)
    fresh.load_state_dict(tiny_model.state_dict())
    loaded = SoftPrompt.load(weights, fresh.eval(), tiny_tokenizer)
    assert loaded.n_tokens == 3 and loaded.encoder == "mlp" and loaded.verbalizer.labels == ("negative", "positive")
    assert np.array_equal(loaded.classify(TEXTS), tuned.classify(TEXTS))
    with pytest.raises(FileNotFoundError, match="SoftPrompt.save"):
        SoftPrompt.load(tmp_path / "nothing.safetensors", fresh, tiny_tokenizer)


def test_vectors_of_another_width_are_refused(tiny_model, tiny_tokenizer):
    with pytest.raises(ValueError, match="another model"):
        SoftPrompt(tiny_model, tiny_tokenizer, TEMPLATE, VERBALIZER, torch.zeros(2, 7))


@pytest.mark.parametrize("kwargs, error, message", [
    ({"template": "{text} it was ."}, TemplateError, "no mask slot"),
    ({"labels": [0, 0, 0, 1, 1, 2]}, ValueError, "outside the 2 classes"),
    ({"labels": [0] * 6}, ValueError, "no training example"),
    ({"texts": TEXTS[:4]}, ValueError, "4 texts but 6 labels"),
    ({"verbalizer": Verbalizer({"negative": ["wonderful"], "positive": ["fine"]}, multi_token="parallel")},
     VerbalizerError, "split into several tokens"),
    ({"n_tokens": 1}, ValueError, "at least 2"),
    ({"encoder": "gru"}, ValueError, "encoder must be"),
    ({"steps": -1}, ValueError, "steps"),
    ({"lr": 0}, ValueError, "lr"),
])
def test_bad_input_is_refused(tiny_model, tiny_tokenizer, kwargs, error, message):
    args = {"template": TEMPLATE, "verbalizer": VERBALIZER, "texts": TEXTS, "labels": LABELS}
    args.update(kwargs)
    with pytest.raises(error, match=message):
        prompt_tune(tiny_model, tiny_tokenizer, args.pop("template"), args.pop("verbalizer"), args.pop("texts"),
                    args.pop("labels"), **args)
