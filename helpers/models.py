"""Loading a masked language model: the offline default, a local folder, or a hub id."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import torch
from huggingface_hub import try_to_load_from_cache
from transformers import AutoModelForMaskedLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from . import precision
from .claims import set_model_in_use
from .hub import hub_reachable
from .hub import local_only as local_only_hub
from .offline_model import DEFAULT_MODEL_NAME, load_offline_mlm

__all__ = ["ModelNotAvailableError", "load_mlm", "resolve_device", "locally_available_models"]

class ModelNotAvailableError(OSError):
    """The requested model is neither local nor reachable."""


DEVICE_VARIABLE = "PROMPTLAB_DEVICE"


def _mps_available() -> bool:
    """Whether PyTorch reports Apple's MPS backend usable (False on builds without it)."""
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Turn "auto" into a device; check that a named CUDA device exists.

    "auto" is the device named in ``$PROMPTLAB_DEVICE`` when that is set (the test configuration
    sets it to "cpu", so notebooks check their stored outputs on the CPU even on a GPU machine),
    else CUDA when present, else Apple's MPS (Metal) where PyTorch reports it available, else
    the CPU. A device named explicitly ignores the variable. The notebooks' outputs, timings and
    tolerances were not measured on MPS.
    """
    source = "device"
    if str(device) == "auto" and os.environ.get(DEVICE_VARIABLE, "").strip() not in ("", "auto"):
        device, source = os.environ[DEVICE_VARIABLE].strip(), f"${DEVICE_VARIABLE}"
    if str(device) == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if _mps_available() else "cpu")
    try:
        device = torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"{source}={str(device)!r} is not a device; use 'auto', 'cpu', 'cuda' or 'cuda:N'") from err
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"{source}={str(device)!r} asks for a GPU, but this machine has no CUDA GPU; "
                           f"use 'cpu' or 'auto'" + (f" (or unset {DEVICE_VARIABLE})" if source != "device" else ""))
    return device


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
    if dtype not in precision.DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; choose one of {', '.join(precision.DTYPES)}")
    return precision.DTYPES[dtype]


def _from_pretrained(name: str, local_only: bool) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    with local_only_hub(local_only):
        model = AutoModelForMaskedLM.from_pretrained(name, attn_implementation="eager", local_files_only=local_only)
        tokenizer = AutoTokenizer.from_pretrained(name, local_files_only=local_only)
    return model, tokenizer


_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                 "pytorch_model.bin.index.json")
_TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model", "sentencepiece.bpe.model")


def _folder_problems(folder: Path) -> list[str]:
    """What a folder lacks to be a saved fill-mask model and tokenizer (empty when nothing)."""
    problems = []
    config = folder / "config.json"
    if not config.is_file():
        problems.append("no config.json")
    else:
        try:
            settings = json.loads(config.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as err:
            problems.append(f"config.json is not valid JSON ({err})")
        else:
            if not isinstance(settings, dict) or "model_type" not in settings:
                problems.append("config.json has no \"model_type\" (it says which architecture to build)")
    if not any((folder / f).is_file() for f in _WEIGHT_FILES):
        problems.append(f"no weights (one of {', '.join(_WEIGHT_FILES)})")
    if not any((folder / f).is_file() for f in _TOKENIZER_FILES):
        problems.append(f"no tokenizer files (one of {', '.join(_TOKENIZER_FILES)})")
    return problems


def _load_folder(folder: Path) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a local folder, or say what it lacks."""
    how = "A model folder is written by model.save_pretrained(folder) and tokenizer.save_pretrained(folder)."
    problems = _folder_problems(folder)
    if problems:
        raise ModelNotAvailableError(f"folder {str(folder)!r} is not a saved model: {'; '.join(problems)}. {how}")
    try:
        return _from_pretrained(str(folder), local_only=True)
    except Exception as err:  # torn or foreign files fail in many ways (OSError, SafetensorError, ...)
        raise ModelNotAvailableError(f"folder {str(folder)!r} could not be loaded as a fill-mask model: {err}. "
                                     f"{how}") from err


def _looks_like_a_path(name: str) -> bool:
    return name.startswith((".", "/", "~")) or os.sep in name.strip("/").replace("/", "", 1) or Path(name).exists()


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
    elif Path(name_or_path).expanduser().is_dir():  # a folder: never ask the hub
        model, tokenizer = _load_folder(Path(name_or_path).expanduser())
    elif _looks_like_a_path(str(name_or_path)):
        raise ModelNotAvailableError(f"{str(name_or_path)!r} is not a folder (looked from {os.getcwd()}); pass a "
                                     "folder written by save_pretrained(), a hub id such as 'bert-base-uncased', "
                                     "or None for the offline default model")
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
    set_model_in_use(model)
    return model.eval(), tokenizer
