"""BERT's masking rule (Devlin et al. 2019): pick 15 % of tokens, then 80/10/10."""

from __future__ import annotations

import torch


def mask_tokens(
    input_ids: torch.Tensor,
    special: torch.Tensor,
    mask_id: int,
    vocab_size: int,
    generator: torch.Generator,
    rate: float = 0.15,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (corrupted inputs, labels); labels are -100 except at the picked positions.

    Of the picked positions 80 % become [MASK], 10 % a random token and 10 % stay as
    they are. ``special`` marks positions never picked ([CLS], [SEP], padding).
    """
    shape = input_ids.shape
    picked = (torch.rand(shape, generator=generator) < rate) & ~special
    labels = torch.where(picked, input_ids, torch.full_like(input_ids, -100))
    roll = torch.rand(shape, generator=generator)
    inputs = input_ids.clone()
    inputs[picked & (roll < 0.8)] = mask_id
    randomise = picked & (roll >= 0.8) & (roll < 0.9)
    random_ids = torch.randint(vocab_size, shape, generator=generator)
    inputs[randomise] = random_ids[randomise]
    return inputs, labels
