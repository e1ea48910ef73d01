"""Precision choice (helpers/precision.py) and MaskScorer's bf16 path on the tiny model."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch

from helpers import MaskScorer, Template, Verbalizer
from helpers import precision as prec
from helpers.precision import Bf16Support, PrecisionWarning, cpu_flags, resolve_precision

TEMPLATE = Template("{text} it was {mask}.")
VERBALIZER = Verbalizer({"negative": ["terrible", "bad"], "positive": ["great", "good"]})
TEXTS = ["the movie was great", "i hated the plot", "the acting was awful but the story was fine",
         "john went to paris to visit the city", "a film", "i really liked it"]
CPU = torch.device("cpu")


def support(fast: bool, reason: str = "mocked") -> Bf16Support:
    return Bf16Support(fast, reason, frozenset({"amx_bf16"}) if fast else frozenset(), fast, 4.0 if fast else 0.25)


@pytest.fixture()
def fresh_probe():
    prec.cpu_bf16_support.cache_clear()
    yield
    prec.cpu_bf16_support.cache_clear()


def test_cpu_flags_read_x86_and_arm_lines(tmp_path):
    x86 = tmp_path / "x86"
    x86.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f amx_bf16\nbogomips\t: 5200\n")
    arm = tmp_path / "arm"
    arm.write_text("processor\t: 0\nFeatures\t: fp asimd bf16\n")
    assert cpu_flags(x86) == {"fpu", "avx2", "avx512f", "amx_bf16"}
    assert cpu_flags(arm) == {"fp", "asimd", "bf16"}
    assert cpu_flags(tmp_path / "missing") == frozenset()


def test_no_onednn_bf16_means_slow_without_probing(monkeypatch, fresh_probe):
    monkeypatch.setattr(prec, "_onednn_bf16", lambda: False)
    monkeypatch.setattr(prec, "_probe_speedup", lambda: pytest.fail("the probe ran although oneDNN said no"))
    found = prec.cpu_bf16_support()
    assert not found.fast and found.speedup is None and "oneDNN" in found.reason


def test_flags_without_bf16_mean_slow_without_probing(monkeypatch, fresh_probe):
    monkeypatch.setattr(prec, "_onednn_bf16", lambda: True)
    monkeypatch.setattr(prec, "cpu_flags", lambda: frozenset({"avx2", "fma"}))  # an AMD EPYC of the Zen 2 kind
    monkeypatch.setattr(prec, "_probe_speedup", lambda: pytest.fail("the probe ran although the flags said no"))
    found = prec.cpu_bf16_support()
    assert not found.fast and "neither amx_bf16 nor avx512_bf16" in found.reason


@pytest.mark.parametrize(("speedup", "fast"), [(0.25, False), (1.1, False), (4.0, True)])
def test_the_probe_decides_when_the_flags_allow_bf16(monkeypatch, fresh_probe, speedup, fast):
    monkeypatch.setattr(prec, "_onednn_bf16", lambda: True)
    monkeypatch.setattr(prec, "cpu_flags", lambda: frozenset({"avx512f", "avx512_bf16"}))
    calls = []
    monkeypatch.setattr(prec, "_probe_speedup", lambda: calls.append(1) or speedup)
    found = prec.cpu_bf16_support()
    assert found.fast is fast and found.speedup == speedup and f"{speedup:.2f}x" in found.reason
    assert found.flags == {"avx512_bf16"}
    prec.cpu_bf16_support()
    assert len(calls) == 1, "the probe runs once per process"


def test_resolve_precision_on_a_cpu(monkeypatch):
    monkeypatch.setattr(prec, "cpu_bf16_support", lambda: support(True))
    assert resolve_precision("auto", CPU) == torch.bfloat16
    assert resolve_precision("bf16", CPU) == torch.bfloat16
    monkeypatch.setattr(prec, "cpu_bf16_support", lambda: support(False, "no AMX here"))
    with pytest.warns(PrecisionWarning, match="fp32 on this CPU: no AMX here"):
        assert resolve_precision("auto", CPU) == torch.float32
    with pytest.warns(PrecisionWarning, match="slower than fp32 here: no AMX here"):
        assert resolve_precision("bf16", CPU) == torch.bfloat16  # asked for explicitly: honoured


def test_fp32_never_probes(monkeypatch):
    monkeypatch.setattr(prec, "cpu_bf16_support", lambda: pytest.fail("fp32 must not probe"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resolve_precision("fp32", CPU) == torch.float32


def test_bad_precisions_are_refused_with_the_choices():
    with pytest.raises(ValueError, match="choose one of fp32, bf16, fp16, auto"):
        resolve_precision("half", CPU)
    with pytest.raises(ValueError, match="only on CUDA"):
        resolve_precision("fp16", CPU)


# ---- MaskScorer ----------------------------------------------------------------------------

def test_scorer_refuses_an_unknown_precision(tiny_model, tiny_tokenizer):
    with pytest.raises(ValueError, match="unknown precision 'int8'"):
        MaskScorer(tiny_model, tiny_tokenizer, precision="int8")


def test_bf16_agrees_with_fp32_and_leaves_the_model_alone(tiny_model, tiny_tokenizer, monkeypatch):
    monkeypatch.setattr(prec, "cpu_bf16_support", lambda: support(True))
    exact = MaskScorer(tiny_model, tiny_tokenizer, batch_size=4, progress=False)
    fast = MaskScorer(tiny_model, tiny_tokenizer, batch_size=4, progress=False, precision="auto")
    assert (exact.compute_dtype, fast.compute_dtype) == (torch.float32, torch.bfloat16)
    want = exact.classify(TEXTS, TEMPLATE, VERBALIZER)
    got = fast.classify(TEXTS, TEMPLATE, VERBALIZER)
    assert np.abs(got - want).max() < 0.02  # bf16 keeps 8 bits of mantissa
    assert not np.array_equal(got, want), "the bf16 path did not run"
    assert all(p.dtype == torch.float32 for p in tiny_model.parameters())
    masked = [t + " [MASK]." for t in TEXTS]
    ids = tiny_tokenizer.convert_tokens_to_ids(["great", "terrible", "paris"])
    np.testing.assert_allclose(fast.label_logprobs(masked, ids), exact.label_logprobs(masked, ids), atol=0.05)


def test_bf16_copy_is_kept_and_remade_after_the_weights_change(tiny_model, tiny_tokenizer, monkeypatch):
    monkeypatch.setattr(prec, "cpu_bf16_support", lambda: support(True))
    model = copy.deepcopy(tiny_model)
    fast = MaskScorer(model, tiny_tokenizer, batch_size=4, progress=False, precision="bf16")
    exact = MaskScorer(model, tiny_tokenizer, batch_size=4, progress=False)
    masked = [t + " [MASK]." for t in TEXTS]
    ids = tiny_tokenizer.convert_tokens_to_ids(["great", "terrible", "paris"])
    before = fast.label_logprobs(masked, ids)
    first = fast._cast_copy[1]
    fast.label_logprobs(masked[:2], ids)
    assert fast._cast_copy[1] is first, "the bf16 copy was remade though the weights did not change"
    noise = torch.Generator().manual_seed(0)  # seeded: the change must not depend on test order
    with torch.no_grad():  # as an optimiser step would: in place
        for p in model.bert.encoder.parameters():
            p.add_(torch.randn(p.shape, generator=noise) * 2.0)
    after = fast.label_logprobs(masked, ids)
    assert fast._cast_copy[1] is not first
    np.testing.assert_allclose(after, exact.label_logprobs(masked, ids), atol=0.05)
    assert np.abs(after - before).max() > 0.2, "the weight change did not reach the bf16 scores"


def test_auto_on_a_slow_cpu_scores_exactly_as_fp32(tiny_model, tiny_tokenizer, monkeypatch):
    monkeypatch.setattr(prec, "cpu_bf16_support", lambda: support(False, "oneDNN reports no bf16 support"))
    with pytest.warns(PrecisionWarning, match="oneDNN reports no bf16 support"):
        fast = MaskScorer(tiny_model, tiny_tokenizer, batch_size=4, progress=False, precision="auto")
    exact = MaskScorer(tiny_model, tiny_tokenizer, batch_size=4, progress=False)
    assert fast.compute_dtype == torch.float32 and fast._cast_copy is None
    np.testing.assert_array_equal(fast.classify(TEXTS, TEMPLATE, VERBALIZER), exact.classify(TEXTS, TEMPLATE,
                                                                                             VERBALIZER))
    assert fast._cast_copy is None


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize(("precision", "tolerance"), [("fp32", 1e-4), ("auto", 0.02)])
def test_cpu_and_gpu_scores_agree(tiny_model, tiny_tokenizer, precision, tolerance):
    cpu = MaskScorer(tiny_model, tiny_tokenizer, batch_size=4, progress=False)
    want = cpu.classify(TEXTS, TEMPLATE, VERBALIZER)
    on_gpu = copy.deepcopy(tiny_model).to("cuda")
    gpu = MaskScorer(on_gpu, tiny_tokenizer, batch_size=4, progress=False, precision=precision)
    expected = {torch.float32} if precision == "fp32" else {torch.bfloat16, torch.float16}
    assert gpu.compute_dtype in expected
    got = gpu.classify(TEXTS, TEMPLATE, VERBALIZER)
    assert np.abs(got - want).max() < tolerance
    masked = [t + " [MASK]." for t in TEXTS]
    ids = tiny_tokenizer.convert_tokens_to_ids(["great", "terrible", "paris"])
    np.testing.assert_allclose(gpu.label_logprobs(masked, ids), cpu.label_logprobs(masked, ids), atol=tolerance * 5)


def test_load_mlm_warns_about_bf16_weights_only_where_bf16_is_slow(tiny_model_dir, monkeypatch):
    from helpers import load_mlm

    monkeypatch.setattr(prec, "cpu_bf16_support", lambda: support(False, "oneDNN reports no bf16 support"))
    with pytest.warns(PrecisionWarning, match="bf16 weights are likely slower.*oneDNN reports no bf16"):
        model, _ = load_mlm(tiny_model_dir, device="cpu", dtype="bf16")
    assert next(model.parameters()).dtype == torch.bfloat16
    monkeypatch.setattr(prec, "cpu_bf16_support", lambda: support(True))
    with warnings.catch_warnings():
        warnings.simplefilter("error", PrecisionWarning)
        load_mlm(tiny_model_dir, device="cpu", dtype="bf16")
