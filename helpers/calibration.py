"""Contextual calibration (Zhao et al. 2021, "Calibrate Before Use").

A prompt has a bias of its own: even with no content it prefers some label words. Run
the prompt on content-free inputs, average their class probabilities ``p_cf``, and divide
every prediction by ``p_cf`` (then renormalise). A content-free input whose probabilities
equal the average ``p_cf`` becomes uniform; each single content-free input only comes close.

The paper writes this as ``softmax(W p)`` with ``W = diag(p_cf)^-1`` applied to the
probabilities ``p``; dividing and renormalising gives the same decisions (the same argmax) but
different probabilities (notebook 3 compares the two).
"""

from __future__ import annotations

import numpy as np

__all__ = ["CONTENT_FREE_INPUTS", "calibrate_probs"]

# "N/A" and the empty string follow Zhao et al.; the mask token is the third they use.
CONTENT_FREE_INPUTS = ("N/A", "", "{mask_token}")


def calibrate_probs(probs: np.ndarray, content_free: np.ndarray) -> np.ndarray:
    """Divide class probabilities (n, C) by the content-free ones (C,) and renormalise."""
    content_free = np.asarray(content_free, dtype=float)
    if content_free.ndim != 1 or content_free.shape[0] != probs.shape[1]:
        raise ValueError(f"content-free probabilities need shape ({probs.shape[1]},), got {content_free.shape}")
    scaled = probs / content_free
    return scaled / scaled.sum(axis=1, keepdims=True)
