"""helpers.claims: strict on the offline default model, a printed note on any other."""

import pytest
from transformers import BertConfig, BertForMaskedLM

from helpers import claims
from helpers.claims import ClaimError, claim, is_default_model, model_name, set_model_in_use
from helpers.offline_model import DEFAULT_MODEL_NAME


@pytest.fixture()
def other_model():
    model = BertForMaskedLM(BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                                       intermediate_size=8))
    model.config.name_or_path = "bert-base-uncased"
    return model


@pytest.fixture(autouse=True)
def restore():
    saved = dict(claims._in_use)
    yield
    claims._in_use.update(saved)


def test_a_true_claim_is_silent_everywhere(capsys, other_model):
    assert claim(True, "the top word is good") is True
    assert claim(1 == 1, "one is one", model=other_model) is True
    assert capsys.readouterr().out == ""


def test_a_false_claim_raises_on_the_default_model_with_what_was_observed():
    claims._in_use["name"] = DEFAULT_MODEL_NAME
    with pytest.raises(ClaimError, match="the top word is good.*observed: bad, good"):
        claim(False, "the top word is good", observed=["bad", "good"])
    assert issubclass(ClaimError, AssertionError)


def test_a_false_claim_prints_a_note_on_another_model_and_the_run_goes_on(capsys, other_model):
    set_model_in_use(other_model)
    assert not is_default_model()
    assert claim(False, "the top word is good", observed={"p": 0.123456}) is False
    out = capsys.readouterr().out
    assert "bert-base-uncased" in out and "the top word is good" in out and "p = 0.1235" in out
    assert claim(False, "x", model=None) is False  # still the other model in use


def test_the_model_argument_overrides_the_model_in_use(other_model):
    claims._in_use["name"] = "bert-base-uncased"
    other_model.config.name_or_path = DEFAULT_MODEL_NAME
    assert is_default_model(other_model) and model_name(other_model) == DEFAULT_MODEL_NAME
    with pytest.raises(ClaimError):
        claim(False, "x", model=other_model)


def test_a_claim_needs_its_sentence():
    with pytest.raises(TypeError, match="statement"):
        claim(True, "")


def test_load_mlm_of_a_folder_makes_that_model_the_one_claims_describe(tiny_model_dir, capsys):
    from helpers import load_mlm

    claims._in_use["name"] = DEFAULT_MODEL_NAME
    model, _ = load_mlm(tiny_model_dir, device="cpu")
    assert model_name() == str(tiny_model_dir) and not is_default_model()
    assert claim(False, "the top word is good", observed=["bad"]) is False  # a note, not an error
    assert str(tiny_model_dir) in capsys.readouterr().out
    load_mlm(None, device="cpu")
    assert is_default_model()
    with pytest.raises(ClaimError):
        claim(False, "the top word is good")
