"""An estimate of this CPU's dense peak GFLOP/s, for the benchmarks' share-of-peak columns."""

from __future__ import annotations

from pathlib import Path

import torch

from helpers.precision import cpu_flags


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
    fp32_unit = "AVX-512 FMA" if fp32 == 64 else "AVX2 FMA" if fp32 == 32 else "SSE FMA"
    bf16_unit = "AMX-BF16" if bf16 == 1024 else "AVX512-BF16" if bf16 == 128 else "no bf16 unit"
    return {
        "fp32": (threads * ghz * fp32, f"{threads} cores x {ghz:.2f} GHz x {fp32} FLOPs/cycle ({fp32_unit})"),
        "bf16": (threads * ghz * bf16, f"{threads} cores x {ghz:.2f} GHz x {bf16} FLOPs/cycle ({bf16_unit})"),
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
