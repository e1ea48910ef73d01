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

This file re-exports the public names of every floor. ``bench/``, ``training/`` and
``tools/`` stand above the package; it never imports them.
"""

from .calibration import CONTENT_FREE_INPUTS, calibrate_probs
from .data import LabelledTexts, TaggedSentence, load_conll2003, load_imdb, load_sst2
from .label_search import search_label_words
from .models import ModelNotAvailableError, load_mlm, resolve_device
from .offline_model import DEFAULT_MODEL_NAME
from .scorer import MaskScorer, TruncationWarning
from .soft_prompt import SoftPrompt, prompt_tune
from .template import Template, TemplateError
from .verbalizer import Verbalizer, VerbalizerError

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "CONTENT_FREE_INPUTS",
    "DEFAULT_MODEL_NAME",
    "LabelledTexts",
    "MaskScorer",
    "ModelNotAvailableError",
    "SoftPrompt",
    "TaggedSentence",
    "Template",
    "TemplateError",
    "TruncationWarning",
    "Verbalizer",
    "VerbalizerError",
    "calibrate_probs",
    "load_conll2003",
    "load_imdb",
    "load_mlm",
    "load_sst2",
    "prompt_tune",
    "resolve_device",
    "search_label_words",
]
