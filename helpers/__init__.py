"""helpers: the small library behind the prompt-learning notebooks.

A prompt is data (``Template`` + ``Verbalizer``); the model is separate (``load_mlm``);
``MaskScorer`` runs one on the other in batches.

Floors, each module importing only from floors below it (imports made only for type hints,
under ``if TYPE_CHECKING:``, do not count; ``exercises`` imports more inside its checks):

1. Leaves, importing nothing of the package: ``template``, ``verbalizer``, ``inputs``,
   ``calibration`` (a prompt as data), ``precision`` (number formats), ``hub`` (is the hub
   reachable), ``data_files`` (files on disk), ``offline_model``, ``offline_scripts``; and
   ``plots``, which stands apart (matplotlib only).
2. On the leaves: ``scorer`` (prompt + model -> probabilities), ``claims`` (what the text says
   about the default model), ``attention``, ``examples``, ``hub_data`` (data from the hub).
3. ``models`` (loading a model, told to ``claims``), ``data`` (finding a data split),
   ``evaluation``, ``attention_views``.
4. Methods: ``finetune`` (the one training loop), ``ner`` (a package).
5. ``label_search`` (label words from data) and ``exercises`` (the notebooks' self-checks).
6. ``soft_prompt``: trained vectors in place of the template's words, through ``finetune``'s
   loop.

This file re-exports the public names of every floor, each loaded on first use. ``bench/``, ``training/`` and
``tools/`` stand above the package; it never imports them.
"""

from importlib import import_module

# Public name -> the module that defines it. Loaded on first use, so that importing one module
# (``helpers.data_files`` in the GPU job, which has torch and numpy but not the project's other
# dependencies) does not load the rest of the package.
_EXPORTS = {
    "CONTENT_FREE_INPUTS": "calibration", "calibrate_probs": "calibration",
    "LabelledTexts": "data", "TaggedSentence": "data", "load_conll2003": "data", "load_imdb": "data",
    "load_sst2": "data",
    "search_label_words": "label_search",
    "ModelNotAvailableError": "models", "load_mlm": "models", "resolve_device": "models",
    "DEFAULT_MODEL_NAME": "offline_model",
    "MaskScorer": "scorer", "TruncationWarning": "scorer",
    "SoftPrompt": "soft_prompt", "prompt_tune": "soft_prompt",
    "Template": "template", "TemplateError": "template",
    "Verbalizer": "verbalizer", "VerbalizerError": "verbalizer",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'helpers' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


__version__ = "0.1.0"

__all__ = ["__version__", *sorted(_EXPORTS)]
