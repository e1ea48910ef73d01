"""Merging low-rank adapters (LoRA, Hu et al. 2021) into a BERT encoder's linear layers.

Training (``python -m training.train``, outside this package) learns for each adapted
``nn.Linear`` two factors ``A`` (rank x in) and ``B`` (out x rank); loading adds
``scale * B @ A`` to the frozen weight once, so the shipped model is a plain BERT.
"""

from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def merge_lora(encoder: nn.Module, factors: dict[str, torch.Tensor], scale: float) -> None:
    """Add ``scale * B @ A`` from ``factors`` (keys ``<name>.lora_a/.lora_b``) into the weights.

    ``<name>`` is the dotted name of an ``nn.Linear`` inside ``encoder``; ``lora_a`` has
    shape (rank, in_features) and ``lora_b`` (out_features, rank).
    """
    names = {k.rsplit(".", 1)[0] for k in factors}
    for name in sorted(names):
        if f"{name}.lora_a" not in factors or f"{name}.lora_b" not in factors:
            raise ValueError(f"adapter factors for {name} are incomplete: need both {name}.lora_a and {name}.lora_b")
        linear = encoder.get_submodule(name)
        a = factors[f"{name}.lora_a"].float()
        b = factors[f"{name}.lora_b"].float()
        linear.weight += (scale * (b @ a)).to(linear.weight.dtype)
