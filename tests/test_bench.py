"""The benchmarks' own helpers (bench/checked.py, bench/cpu_peak.py) on the tiny model."""

from __future__ import annotations

import numpy as np
import pytest

from bench.checked import classify_checked
from bench.cpu_peak import estimated_cpu_peak
from helpers import MaskScorer, Template, Verbalizer
from helpers import precision as prec
from helpers.precision import Bf16Support

TEMPLATE = Template("{text} it was {mask}.")
VERBALIZER = Verbalizer({"negative": ["terrible", "bad"], "positive": ["great", "good"]})
TEXTS = ["the movie was great", "i hated the plot", "the acting was awful but the story was fine",
         "john went to paris to visit the city", "a film", "i really liked it"]


def support(fast: bool) -> Bf16Support:
    return Bf16Support(fast, "mocked", frozenset({"amx_bf16"}) if fast else frozenset(), fast, 4.0 if fast else 0.25)


def test_peak_estimate_follows_the_instruction_set():
    amx = estimated_cpu_peak(threads=2, ghz=2.5, flags=frozenset({"avx512f", "fma", "amx_bf16", "avx512_bf16"}))
    avx512 = estimated_cpu_peak(threads=2, ghz=2.5, flags=frozenset({"avx512f", "fma", "avx512_bf16"}))
    epyc = estimated_cpu_peak(threads=4, ghz=2.5, flags=frozenset({"avx2", "fma"}))
    assert amx["fp32"][0] == avx512["fp32"][0] == 2 * 2.5 * 64
    assert amx["bf16"][0] == 16 * amx["fp32"][0] and avx512["bf16"][0] == 2 * avx512["fp32"][0]
    assert epyc["fp32"][0] == epyc["bf16"][0] == 4 * 2.5 * 32  # no bf16 unit: bf16 is no faster
    assert "AMX-BF16" in amx["bf16"][1] and "AVX2" in epyc["fp32"][1]


def test_classify_checked_redoes_exactly_the_close_calls(tiny_model, tiny_tokenizer, monkeypatch):
    monkeypatch.setattr(prec, "cpu_bf16_support", lambda: support(True))
    fast = MaskScorer(tiny_model, tiny_tokenizer, batch_size=4, progress=False, precision="bf16")
    exact = MaskScorer(tiny_model, tiny_tokenizer, batch_size=4, progress=False)
    rough = fast.classify(TEXTS, TEMPLATE, VERBALIZER)
    right = exact.classify(TEXTS, TEMPLATE, VERBALIZER)
    # Redone rows come from another batch shape, which moves fp32 sums by a few 1e-8 on some CPUs;
    # bf16 and fp32 differ by far more than the tolerance, so a row from the wrong scorer still fails.
    tol = {"rtol": 0, "atol": 1e-6}
    assert np.abs(rough - right).max() > 100 * tol["atol"]
    np.testing.assert_allclose(classify_checked(fast, exact, TEXTS, TEMPLATE, VERBALIZER, margin=0), rough, **tol)
    np.testing.assert_allclose(classify_checked(fast, exact, TEXTS, TEMPLATE, VERBALIZER, margin=1e9), right, **tol)
    gap = np.abs(np.log(rough[:, 1]) - np.log(rough[:, 0]))
    margin = float(np.median(gap))  # half the texts are close calls
    mixed = classify_checked(fast, exact, TEXTS, TEMPLATE, VERBALIZER, margin=margin)
    close = gap < margin
    assert 0 < close.sum() < len(TEXTS)
    np.testing.assert_allclose(mixed[close], right[close], **tol)
    np.testing.assert_allclose(mixed[~close], rough[~close], **tol)
    with pytest.raises(ValueError, match="margin must be at least 0"):
        classify_checked(fast, exact, TEXTS, TEMPLATE, VERBALIZER, margin=-1)
