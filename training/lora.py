"""Low-rank adapters (LoRA, Hu et al. 2021) for the linear layers of a BERT encoder.

Training wraps each targeted ``nn.Linear`` in a ``LoRALinear``: the pretrained weight
stays frozen and a trainable low-rank update ``scale * B @ A`` is added. The shipped
model does not need this module: ``helpers.offline_model.lora.merge_lora`` adds the
update into the weight when the model is loaded.
"""

from __future__ import annotations

import math

import torch
from torch import nn

# Every linear layer of a BERT block: attention projections, attention output, FFN.
TARGETS = (
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
)


class LoRALinear(nn.Module):
    """A frozen ``nn.Linear`` plus a trainable rank-``rank`` update ``(alpha / rank) * B @ A``."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float):
        super().__init__()
        self.base = base
        self.base.weight.requires_grad_(False)
        if self.base.bias is not None:
            self.base.bias.requires_grad_(False)
        self.scale = alpha / rank
        self.lora_a = nn.Parameter(torch.empty(rank, base.in_features))
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, rank))
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (x @ self.lora_a.T @ self.lora_b.T) * self.scale


def lora_module_names(num_layers: int) -> list[str]:
    """Return the dotted names (inside ``BertModel``) of every adapted linear layer."""
    return [f"encoder.layer.{i}.{t}" for i in range(num_layers) for t in TARGETS]


def add_lora(encoder: nn.Module, rank: int, alpha: float) -> list[str]:
    """Wrap every targeted linear layer of a ``BertModel`` in place; return their names."""
    names = lora_module_names(len(encoder.encoder.layer))
    for name in names:
        parent_name, child = name.rsplit(".", 1)
        parent = encoder.get_submodule(parent_name)
        setattr(parent, child, LoRALinear(getattr(parent, child), rank, alpha))
    return names
