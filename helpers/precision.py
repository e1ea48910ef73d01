"""Which number format scores fastest on this machine: bf16 where the CPU runs it fast, else fp32.

bf16 (bfloat16: fp32's 8-bit exponent, 7 explicit mantissa bits) halves the bytes per weight, and
CPUs with AMX tiles (Intel Sapphire Rapids and later: ``amx_bf16``) or AVX-512 BF16 dot products
(``avx512_bf16``) multiply bf16 matrices several times faster than fp32. CPUs without them (AMD EPYC
before Zen 4, older Intel parts) emulate bf16 and run it *slower* than fp32: on such a machine
bf16 made ``MaskScorer`` 4x slower. So "auto" asks three questions, cheapest first: does oneDNN
(PyTorch's CPU matrix library) report bf16 support, does the CPU list a bf16 instruction set, and
does a short measured probe (one encoder-sized matrix product in both formats, best of 15
single-threaded runs, about 0.1 s, once per process) show bf16 faster? Only then is bf16 chosen.

On CUDA, "auto" means autocast in bf16 where the GPU supports it, else fp16.
"""

from __future__ import annotations

import functools
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from .inputs import TextInput
from .template import Template
from .verbalizer import Verbalizer

__all__ = ["PRECISIONS", "PrecisionWarning", "Bf16Support", "CHECK_MARGIN", "classify_checked", "cpu_flags",
           "cpu_bf16_support", "estimated_cpu_peak", "resolve_precision"]

PRECISIONS = ("fp32", "bf16", "fp16", "auto")
_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
BF16_FLAGS = ("amx_bf16", "avx512_bf16")
MIN_PROBE_SPEEDUP = 1.3  # bf16 must beat fp32 by this factor in the probe to be worth its rounding
# Twice the largest change bf16 made to the log-probability gap between "great" and "terrible"
# on 500 SST-2 *training* sentences with the offline default model (0.076 nats; bench/bf16_margin.py,
# bench/README.md).
CHECK_MARGIN = 0.15


class _Classifier(Protocol):
    """What ``classify_checked`` needs of a scorer: ``MaskScorer.classify``'s signature."""

    def classify(self, texts: Sequence[TextInput], template: Template, verbalizer: Verbalizer,
                 **kwargs: Any) -> np.ndarray: ...


class PrecisionWarning(UserWarning):
    """The precision asked for is slow or unavailable here, and what is used instead."""


@dataclass(frozen=True)
class Bf16Support:
    """Whether bf16 matrix products are fast on this CPU, and why.

    ``speedup`` is the probe's fp32 time / bf16 time (above 1: bf16 is faster), or None when
    the probe was not run because oneDNN or the CPU flags already ruled bf16 out.
    """

    fast: bool
    reason: str
    flags: frozenset[str]
    onednn_bf16: bool
    speedup: float | None


def cpu_flags(cpuinfo: str | Path = "/proc/cpuinfo") -> frozenset[str]:
    """The CPU's feature flags ("flags" on x86, "Features" on ARM) from ``/proc/cpuinfo`` on Linux;
    empty where that file is absent (then only oneDNN and the probe decide)."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def _onednn_bf16() -> bool:
    """oneDNN's own answer to "does this CPU have bf16 instructions" (False where unknown)."""
    if not torch.backends.mkldnn.is_available():
        return False
    check = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    try:
        return bool(check()) if check is not None else False
    except RuntimeError:
        return False


def _probe_speedup(repeats: int = 15) -> float:
    """fp32 time / bf16 time of one (256 x 384) @ (384 x 1536) product, best of ``repeats``.

    The shape is one feed-forward layer of a 384-wide encoder on a batch of short texts. The
    probe runs on one thread, alternating the two formats, and keeps each one's best time, so
    that other processes sharing the cores (which stall a multi-threaded product at random)
    cannot decide the answer.
    """
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(256, 384, generator=generator)
    w = torch.randn(1536, 384, generator=generator)
    pairs = {dtype: (x.to(dtype), w.to(dtype)) for dtype in (torch.float32, torch.bfloat16)}
    best = dict.fromkeys(pairs, float("inf"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            for a, b in pairs.values():  # first calls: oneDNN builds its kernel, AMX tiles are set up
                torch.nn.functional.linear(a, b)
                torch.nn.functional.linear(a, b)
            for _ in range(repeats):
                for dtype, (a, b) in pairs.items():
                    start = time.perf_counter()
                    torch.nn.functional.linear(a, b)
                    best[dtype] = min(best[dtype], time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)
    return best[torch.float32] / max(best[torch.bfloat16], 1e-9)


@functools.cache
def cpu_bf16_support() -> Bf16Support:
    """Decide once per process whether bf16 is fast on this CPU (see the module docstring)."""
    flags = cpu_flags()
    found = frozenset(f for f in BF16_FLAGS if f in flags)
    onednn = _onednn_bf16()
    if not onednn:
        return Bf16Support(False, "oneDNN reports no bf16 support on this CPU", found, onednn, None)
    if flags and not found:  # flags were readable and list neither bf16 instruction set
        return Bf16Support(False, "the CPU lists neither amx_bf16 nor avx512_bf16", found, onednn, None)
    speedup = _probe_speedup()
    what = ", ".join(sorted(found)) or "bf16 (flags unreadable)"
    if speedup < MIN_PROBE_SPEEDUP:
        return Bf16Support(False, f"{what} present, but a bf16 matrix product ran only {speedup:.2f}x as fast "
                                  f"as fp32 (needs {MIN_PROBE_SPEEDUP}x)", found, onednn, speedup)
    return Bf16Support(True, f"{what}: a bf16 matrix product ran {speedup:.2f}x as fast as fp32", found, onednn,
                       speedup)


def resolve_precision(precision: str, device: torch.device) -> torch.dtype:
    """Turn "fp32" / "bf16" / "fp16" / "auto" into the dtype the encoder computes in on ``device``.

    "auto" is bf16 or fp16 autocast on CUDA, bf16 on a CPU where :func:`cpu_bf16_support` says it
    is fast, and fp32 otherwise (with a :class:`PrecisionWarning` that says why). An explicit "bf16"
    on a CPU where it is slow is honoured with a warning; "fp16" needs CUDA.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    device = torch.device(device)
    if device.type == "cuda":
        if precision == "auto":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return _DTYPES[precision]
    if precision == "fp16":
        raise ValueError(f"precision='fp16' runs only on CUDA, and this scorer is on {device}; "
                         "use precision='bf16' or 'auto' on a CPU")
    if device.type != "cpu":
        if precision == "auto":
            return torch.float32
        return _DTYPES[precision]
    if precision == "fp32":
        return torch.float32
    support = cpu_bf16_support()
    if precision == "auto":
        if support.fast:
            return torch.bfloat16
        warnings.warn(f"precision='auto' scores in fp32 on this CPU: {support.reason}", PrecisionWarning,
                      stacklevel=3)
        return torch.float32
    if not support.fast:
        warnings.warn(f"precision='bf16' was asked for, but bf16 is likely slower than fp32 here: {support.reason}; "
                      "precision='auto' would pick fp32", PrecisionWarning, stacklevel=3)
    return torch.bfloat16


def estimated_cpu_peak(threads: int | None = None, ghz: float | None = None,
                       flags: frozenset[str] | None = None) -> dict[str, tuple[float, str]]:
    """Estimated dense peak GFLOP/s of this CPU for fp32 and bf16, each with the formula used.

    An estimate from the instruction set, not a measurement: threads x GHz x FLOPs per cycle per
    core, with two 512-bit FMA units (16 fp32 lanes x 2 FLOPs x 2 units = 64) for AVX-512, two
    256-bit ones (32) for AVX2, and for bf16 the AMX tile unit's 1,024 FLOPs per cycle (Intel's
    figure for AMX-BF16: 512 multiply-adds per cycle per core) or AVX-512 BF16's dot product
    (32 bf16 pairs x 2 FLOPs x 2 units = 128). Turbo, AVX frequency drops and hyper-threads
    sharing a core are ignored, so the true peak may be lower or higher.
    """
    flags = cpu_flags() if flags is None else flags
    threads = threads or torch.get_num_threads()
    ghz = ghz or _cpu_ghz()
    fp32 = 64 if "avx512f" in flags else 32 if "fma" in flags else 8
    bf16 = 1024 if "amx_bf16" in flags else 128 if "avx512_bf16" in flags else fp32
    return {
        "fp32": (threads * ghz * fp32, f"{threads} cores x {ghz:.2f} GHz x {fp32} FLOPs/cycle"
                                       f" ({'AVX-512' if fp32 == 64 else 'AVX2' if fp32 == 32 else 'SSE'} FMA)"),
        "bf16": (threads * ghz * bf16, f"{threads} cores x {ghz:.2f} GHz x {bf16} FLOPs/cycle"
                                       f" ({'AMX-BF16' if bf16 == 1024 else 'AVX512-BF16' if bf16 == 128 else 'no bf16 unit'})"),
    }


def _cpu_ghz() -> float:
    """The nominal clock from ``/proc/cpuinfo`` ("cpu MHz"), or 2.0 GHz where it cannot be read."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("cpu MHz"):
                return float(line.split(":", 1)[1]) / 1000
    except (OSError, ValueError):
        pass
    return 2.0


def classify_checked(fast: _Classifier, exact: _Classifier, texts: Sequence[TextInput], template: Template,
                     verbalizer: Verbalizer, margin: float = CHECK_MARGIN, **classify_kwargs: Any) -> np.ndarray:
    """Class probabilities (n, n_classes) from ``fast`` (e.g. bf16), with close calls redone by ``exact``.

    bf16 rounding moves a text's log-probabilities by a few hundredths of a nat, which flips the
    predicted class only where the two most likely classes are that close. So every text whose
    top two classes are within ``margin`` nats (log p1 - log p2) under ``fast`` is scored again
    with ``exact`` (fp32) and takes those probabilities; the rest keep ``fast``'s. The prediction
    then matches fp32 wherever bf16's error stays below ``margin``, at the cost of re-scoring the
    close calls (5.8 % of SST-2 training sentences at the default margin, by
    ``bench/bf16_margin.py``). ``classify_kwargs`` (e.g. ``calibrate``) go to both calls. A
    cascade in the spirit of mixed-precision iterative refinement: cheap arithmetic first,
    exact arithmetic where the answer is in doubt.
    """
    if margin < 0:
        raise ValueError(f"margin must be at least 0 nats, got {margin}")
    texts = list(texts)
    probs = fast.classify(texts, template, verbalizer, **classify_kwargs)
    if probs.shape[1] < 2 or not len(texts):
        return probs
    logp = np.log(np.clip(probs, 1e-30, None))
    top_two = np.sort(logp, axis=1)[:, -2:]
    close = np.flatnonzero(top_two[:, 1] - top_two[:, 0] < margin)
    if close.size:
        probs[close] = exact.classify([texts[i] for i in close], template, verbalizer, **classify_kwargs)
    return probs
