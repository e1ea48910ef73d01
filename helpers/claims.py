"""Claims: what the notebooks' prose says about one model, checked against the model in use.

An ``assert`` in a notebook states what holds for every model (probabilities sum to 1, a
forward pass by hand equals ``MaskScorer``). What one model *does* (its top 5 for a
sentence, which template wins) is a claim: the prose was written from the offline default
model's outputs, so on that model a false claim stops the run (nbval then catches prose
that has drifted from its outputs), and on any other model it prints one line for the
learner and the run goes on::

    claim(top5[:2] == ["good", "bad"], "the top two words are good and bad", observed=top5)

Which model is "in use" is the one ``load_mlm`` loaded last, or the ``model`` argument.
"""

from __future__ import annotations

from typing import Any

from .offline_model import DEFAULT_MODEL_NAME

_in_use: dict[str, str] = {"name": DEFAULT_MODEL_NAME}


class ClaimError(AssertionError):
    """A claim the text makes about the offline default model does not hold on it."""


def model_name(model: Any = None) -> str:
    """The name of ``model`` (its ``config.name_or_path``), or of the model ``load_mlm`` loaded last."""
    if model is None:
        return _in_use["name"]
    config = getattr(model, "config", None)
    name = getattr(config, "name_or_path", None) if config is not None else None
    return str(name) if name else type(model).__name__


def set_model_in_use(model: Any) -> None:
    """Record which model the claims that follow describe (``load_mlm`` calls this)."""
    _in_use["name"] = model_name(model)


def is_default_model(model: Any = None) -> bool:
    """True when ``model`` (or the model ``load_mlm`` loaded last) is the offline default model."""
    return model_name(model) == DEFAULT_MODEL_NAME


def _show(observed: Any) -> str:
    if isinstance(observed, float):
        return f"{observed:.4g}"
    if isinstance(observed, (list, tuple)) and all(isinstance(x, str) for x in observed):
        return ", ".join(observed)
    if isinstance(observed, dict):
        return ", ".join(f"{k} = {_show(v)}" for k, v in observed.items())
    return str(observed)


def claim(condition: Any, statement: str, *, observed: Any = None, model: Any = None) -> bool:
    """Check a sentence of the text that describes the offline default model.

    Returns ``bool(condition)``. When it is false: on the offline default model raises
    ``ClaimError`` (the text does not match the outputs); on any other model prints a note
    that says what the text claims and what this model gave, and returns False.
    """
    if not isinstance(statement, str) or not statement.strip():
        raise TypeError("claim(condition, statement): statement must be the sentence of the text being checked")
    if bool(condition):
        return True
    seen = "" if observed is None else f" (observed: {_show(observed)})"
    name = model_name(model)
    if name == DEFAULT_MODEL_NAME:
        raise ClaimError(f"The text says {statement!r}, but on the offline default model it does not hold{seen}. "
                         "The outputs have changed since the text was written: re-read the text against them.")
    print(f"Note: the text describes the offline default model; on {name} this does not hold: {statement}{seen}.")
    return False
