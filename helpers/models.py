"""Loading a masked language model: the offline default, a local folder, or a hub id."""

from __future__ import annotations

import contextlib
import os
import socket
import warnings
from pathlib import Path
from urllib.parse import urlparse

import torch
from huggingface_hub import constants as hf_constants
from huggingface_hub import try_to_load_from_cache
from transformers import AutoModelForMaskedLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from . import precision
from .offline_model import DEFAULT_MODEL_NAME, load_offline_mlm

__all__ = ["ModelNotAvailableError", "load_mlm", "resolve_device", "hub_reachable", "locally_available_models"]

_DTYPES = {"float32": torch.float32, "fp32": torch.float32, "float16": torch.float16,
           "fp16": torch.float16, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}


class ModelNotAvailableError(OSError):
    """The requested model is neither local nor reachable."""


DEVICE_VARIABLE = "PROMPTLAB_DEVICE"


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Turn "auto" into a device; check that a named CUDA device exists.

    "auto" is the device named in ``$PROMPTLAB_DEVICE`` when that is set (the test configuration
    sets it to "cpu", so notebooks check their stored outputs on the CPU even on a GPU machine),
    else CUDA when present, else the CPU. A device named explicitly ignores the variable.
    """
    source = "device"
    if str(device) == "auto" and os.environ.get(DEVICE_VARIABLE, "").strip() not in ("", "auto"):
        device, source = os.environ[DEVICE_VARIABLE].strip(), f"${DEVICE_VARIABLE}"
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"{source}={str(device)!r} is not a device; use 'auto', 'cpu', 'cuda' or 'cuda:N'") from err
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"{source}={str(device)!r} asks for a GPU, but this machine has no CUDA GPU; "
                           f"use 'cpu' or 'auto'" + (f" (or unset {DEVICE_VARIABLE})" if source != "device" else ""))
    return device


def hub_reachable(timeout: float = 2.0) -> bool:
    """Return False when ``HF_HUB_OFFLINE`` is set or the hub's host cannot be reached quickly."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        return False
    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def locally_available_models() -> list[str]:
    """List what ``load_mlm`` can load with no network: the default and cached hub models."""
    names = [f"None (the default, {DEFAULT_MODEL_NAME})"]
    try:
        from huggingface_hub import scan_cache_dir

        cached = sorted(r.repo_id for r in scan_cache_dir().repos if r.repo_type == "model")
    except Exception:  # no cache folder yet, or an unreadable one
        cached = []
    names += cached
    names.append("any local folder written by model.save_pretrained() and tokenizer.save_pretrained()")
    return names


def _dtype(dtype: str | torch.dtype | None) -> torch.dtype | None:
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    if dtype not in _DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; choose one of {', '.join(_DTYPES)}")
    return _DTYPES[dtype]


@contextlib.contextmanager
def _hub_offline(offline: bool):
    """Make huggingface_hub skip every request (it reads HF_HUB_OFFLINE only at import)."""
    previous = hf_constants.HF_HUB_OFFLINE
    hf_constants.HF_HUB_OFFLINE = previous or offline
    try:
        yield
    finally:
        hf_constants.HF_HUB_OFFLINE = previous


def _from_pretrained(name: str, local_only: bool) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    with _hub_offline(local_only):
        model = AutoModelForMaskedLM.from_pretrained(name, attn_implementation="eager", local_files_only=local_only)
        tokenizer = AutoTokenizer.from_pretrained(name, local_files_only=local_only)
    return model, tokenizer


def _cached(name: str) -> bool:
    return isinstance(try_to_load_from_cache(name, "config.json"), str)


def load_mlm(
    name_or_path: str | os.PathLike | None = None,
    device: str | torch.device = "auto",
    dtype: str | torch.dtype | None = None,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a fill-mask model and its tokenizer, in eval mode, with eager attention.

    ``None`` gives the project's offline default model; a folder path loads that folder;
    anything else is a Hugging Face hub id, downloaded when the hub is reachable and read
    from the local cache when it is not.
    """
    target = resolve_device(device)
    if name_or_path is None or str(name_or_path) == DEFAULT_MODEL_NAME:
        model, tokenizer = load_offline_mlm()
    elif Path(name_or_path).is_dir():  # a folder: never ask the hub
        model, tokenizer = _from_pretrained(str(name_or_path), local_only=True)
    else:
        name = str(name_or_path)
        online = hub_reachable()
        try:
            if not online and not _cached(name):
                raise OSError(f"{name} is not in the local cache")
            model, tokenizer = _from_pretrained(name, local_only=not online)
        except OSError as err:
            where = "the hub was reached but" if online else "the hub cannot be reached (offline) and"
            raise ModelNotAvailableError(
                f"cannot load {name!r}: {where} it is not a model there or in the local cache.\n"
                "What can be loaded here:\n  - " + "\n  - ".join(locally_available_models())
            ) from err
    dtype = _dtype(dtype)
    if dtype == torch.bfloat16 and target.type == "cpu" and not (support := precision.cpu_bf16_support()).fast:
        warnings.warn(f"bf16 weights are likely slower than fp32 on this CPU: {support.reason}; "
                      "load in fp32 and score with MaskScorer(..., precision='auto')", precision.PrecisionWarning,
                      stacklevel=2)
    model.to(device=target, dtype=dtype)
    return model.eval(), tokenizer
