"""Learning-rate schedules: linear warm-up, then cosine decay to 10 % of the peak."""

from __future__ import annotations

import math


def _cosine_to_a_tenth(progress: float, peak: float) -> float:
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def lr_at(step: int, total: int, warmup: int, peak: float) -> float:
    """Learning rate for 0-based ``step`` of ``total`` steps, after ``warmup`` warm-up steps."""
    if step < warmup:
        return peak * (step + 1) / warmup
    return _cosine_to_a_tenth((step - warmup) / max(1, total - warmup), peak)


def lr_at_time(elapsed_s: float, budget_s: float, warmup_s: float, peak: float) -> float:
    """Learning rate after ``elapsed_s`` seconds of a run whose schedule spans ``budget_s`` seconds.

    Sizing the schedule to seconds rather than steps lets a job use exactly the device time
    it is given, whatever the device's speed.
    """
    if not 0 <= warmup_s < budget_s:
        raise ValueError(f"need 0 <= warmup_s < budget_s, got warmup_s={warmup_s}, budget_s={budget_s}")
    if elapsed_s < warmup_s:
        return peak * max(elapsed_s, 1e-3 * warmup_s) / warmup_s
    return _cosine_to_a_tenth((elapsed_s - warmup_s) / (budget_s - warmup_s), peak)
