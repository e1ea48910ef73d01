"""load_mlm: local folders, the offline failure path, devices and dtypes."""

import time

import pytest
import torch

from helpers import ModelNotAvailableError, load_mlm, resolve_device
from helpers.models import hub_reachable, locally_available_models


def test_local_folder_loads_with_eager_attention(tiny_model_dir, tiny_model):
    model, tokenizer = load_mlm(tiny_model_dir, device="cpu")
    assert model.config._attn_implementation == "eager"
    assert not model.training
    ids = torch.tensor([tokenizer.encode("the movie was [MASK] .")])
    with torch.no_grad():
        out = model(input_ids=ids, output_attentions=True)
        reference = tiny_model(input_ids=ids).logits
    assert len(out.attentions) == 2 and out.attentions[0].shape == (1, 2, ids.shape[1], ids.shape[1])
    torch.testing.assert_close(out.logits, reference)


def test_dtype_is_applied_and_checked(tiny_model_dir):
    model, _ = load_mlm(tiny_model_dir, device="cpu", dtype="bfloat16")
    assert next(model.parameters()).dtype == torch.bfloat16
    with pytest.raises(ValueError, match="unknown dtype"):
        load_mlm(tiny_model_dir, device="cpu", dtype="float8")


def test_unknown_name_offline_fails_fast_and_lists_what_is_local(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert not hub_reachable()
    start = time.monotonic()
    with pytest.raises(ModelNotAvailableError) as err:
        load_mlm("no-such-org/no-such-model", device="cpu")
    assert time.monotonic() - start < 10
    message = str(err.value)
    assert "no-such-org/no-such-model" in message and "offline" in message
    assert "None (the default" in message and "save_pretrained" in message


def test_unreachable_hub_counts_as_offline(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "https://hub.invalid")
    start = time.monotonic()
    assert not hub_reachable(timeout=1.0)
    assert time.monotonic() - start < 5


def test_local_listing_always_offers_the_default():
    assert locally_available_models()[0].startswith("None (the default")


def test_device_resolution(monkeypatch):
    monkeypatch.delenv("PROMPTLAB_DEVICE", raising=False)
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto") == torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA GPU"):
            resolve_device("cuda")


def test_device_variable_pins_auto_but_not_an_explicit_device(monkeypatch):
    monkeypatch.setenv("PROMPTLAB_DEVICE", "cpu")
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device() == torch.device("cpu")
    monkeypatch.setenv("PROMPTLAB_DEVICE", "meta")  # a device no machine picks on its own
    assert resolve_device("auto") == torch.device("meta")
    assert resolve_device("cpu") == torch.device("cpu")
    monkeypatch.setenv("PROMPTLAB_DEVICE", "auto")
    assert resolve_device("auto") == torch.device("cuda" if torch.cuda.is_available() else "cpu")


def test_device_variable_errors_name_the_variable(monkeypatch):
    monkeypatch.setenv("PROMPTLAB_DEVICE", "gpu")
    with pytest.raises(ValueError, match=r"\$PROMPTLAB_DEVICE='gpu' is not a device"):
        resolve_device("auto")
    if not torch.cuda.is_available():
        monkeypatch.setenv("PROMPTLAB_DEVICE", "cuda")
        with pytest.raises(RuntimeError, match="unset PROMPTLAB_DEVICE"):
            resolve_device("auto")


def test_test_configuration_pins_notebooks_to_the_cpu_unless_told_otherwise():
    # tests/conftest.py sets this at import, before nbval starts any kernel, so kernels inherit it
    import os

    assert os.environ.get("PROMPTLAB_DEVICE")
