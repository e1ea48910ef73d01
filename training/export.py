"""Writing trained weights in the two forms ``helpers.offline_model`` loads.

- ``export_adapter``: LoRA factors (fp16), layer norms and MLM head (fp32) in one file;
- ``save_fp16_shards``: every weight of a ``BertForMaskedLM`` in fp16, in shards
  ``model-0000i-of-0000N.safetensors`` of at most ``max_shard_bytes`` each (the GPU job's
  result comes back from the device in files of at most 16 MiB).

Only torch, safetensors and ``helpers.data_files`` (numpy) are needed, so the GPU job can use
this module too; ``sha256_file`` (re-exported here) comes from ``helpers.data_files``.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import nn

from helpers.data_files import sha256_file

__all__ = ["NOT_STORED", "export_adapter", "save_fp16_shards", "sha256_file"]

# Tied to the word embeddings / the head's bias, or rebuilt by the model: never stored.
NOT_STORED = ("cls.predictions.decoder.weight", "cls.predictions.decoder.bias", "bert.embeddings.position_ids")


def export_adapter(params: dict[str, nn.Parameter], path: Path, meta: dict) -> None:
    """Save LoRA factors (fp16), norms and head (fp32) with training facts ``meta`` as metadata.

    ``params`` maps ``BertForMaskedLM`` parameter names (LoRA factors as
    ``bert.<linear>.lora_a`` / ``.lora_b``) to the trained parameters.
    """
    tensors = {}
    for name, p in params.items():
        t = p.detach().cpu()
        if "lora_" in name:
            key = "lora." + name.removeprefix("bert.")
            tensors[key] = t.half().contiguous()
        else:
            tensors[name] = t.float().contiguous()
    save_file(tensors, str(path), metadata={"promptlab": json.dumps(meta, sort_keys=True)})


def save_fp16_shards(model: nn.Module, folder: Path, meta: dict, max_shard_bytes: int = 15 * 2**20) -> list[Path]:
    """Write ``model``'s weights in fp16 to ``folder`` as ``model-0000i-of-0000N.safetensors``.

    Tensors are packed in state-dict order into shards of at most ``max_shard_bytes``; a
    tensor larger than that (the 30,522 x 384 word embeddings are 23 MB in fp16) is cut into
    row blocks stored as ``<name>::0``, ``<name>::1``, ... which the loader joins again. Old
    shards in ``folder`` are removed first; returns the written paths. ``meta`` (training
    facts) goes into every shard's metadata.
    """
    pieces: list[tuple[str, torch.Tensor]] = []
    for key, value in model.state_dict().items():
        if key in NOT_STORED or not value.is_floating_point():
            continue
        tensor = value.detach().to("cpu", torch.float16).contiguous()
        nbytes = tensor.numel() * 2
        if nbytes <= max_shard_bytes:
            pieces.append((key, tensor))
            continue
        rows = max(1, max_shard_bytes // (2 * max(1, tensor[0].numel())))
        if tensor.dim() < 2 or rows * 2 * tensor[0].numel() > max_shard_bytes:
            raise ValueError(f"{key} ({nbytes:,} bytes) cannot be cut into pieces of {max_shard_bytes:,} bytes")
        pieces += [(f"{key}::{i}", chunk.contiguous()) for i, chunk in enumerate(tensor.split(rows))]
    shards: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for key, tensor in pieces:
        nbytes = tensor.numel() * 2
        if size + nbytes > max_shard_bytes and shards[-1]:
            shards.append({})
            size = 0
        shards[-1][key] = tensor
        size += nbytes
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("model-*-of-*.safetensors"):
        old.unlink()
    paths = []
    for i, shard in enumerate(shards, start=1):
        path = folder / f"model-{i:05d}-of-{len(shards):05d}.safetensors"
        save_file(shard, str(path), metadata={"promptlab": json.dumps(meta, sort_keys=True)})
        paths.append(path)
    return paths
