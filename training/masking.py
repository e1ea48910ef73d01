"""BERT's masked-LM objective (Devlin et al. 2019): pick 15 % of tokens, then 80/10/10; loss at the picks.

Only torch is needed, so the GPU job uses this module as it is.
"""

from __future__ import annotations

import torch
from torch import nn


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
    device = input_ids.device  # the generator must live there too
    picked = (torch.rand(shape, generator=generator, device=device) < rate) & ~special
    labels = torch.where(picked, input_ids, torch.full_like(input_ids, -100))
    roll = torch.rand(shape, generator=generator, device=device)
    inputs = input_ids.clone()
    inputs[picked & (roll < 0.8)] = mask_id
    randomise = picked & (roll >= 0.8) & (roll < 0.9)
    random_ids = torch.randint(vocab_size, shape, generator=generator, device=device)
    inputs[randomise] = random_ids[randomise]
    return inputs, labels


def masked_lm_loss(model, inputs: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Return (mean loss, number of correct top-1 predictions as a tensor, number of masked positions).

    ``model`` is a ``BertForMaskedLM``; the vocabulary layer runs only at masked positions
    (``labels != -100``), which saves most of its cost. The count of correct predictions
    stays on the device so that a training loop need not wait for it.
    """
    hidden = model.bert(input_ids=inputs).last_hidden_state
    picked = labels != -100
    logits = model.cls(hidden[picked])
    targets = labels[picked]
    loss = nn.functional.cross_entropy(logits.float(), targets)
    return loss, (logits.argmax(-1) == targets).sum(), int(targets.numel())
