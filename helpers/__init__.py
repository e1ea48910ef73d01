"""helpers: the small library behind the prompt-learning notebooks.

A prompt is data (``Template`` + ``Verbalizer``); the model is separate (``load_mlm``);
``MaskScorer`` runs one on the other in batches.

Layers, each importing only from the layers below it (imports made only for type hints,
under ``if TYPE_CHECKING:``, do not count):

1. Leaves, importing nothing of the package but each other's data types: ``template``,
   ``verbalizer``, ``inputs``, ``calibration`` (a prompt as data), ``precision`` (number
   formats), ``hub`` (is the hub reachable), ``data_files`` (files on disk), ``offline_model``,
   ``claims``, ``attention``, ``offline_scripts``, ``plots``.
2. Engines: ``scorer`` (prompt + model -> probabilities), ``models`` (loading a model),
   ``hub_data`` and ``data`` (finding a data split), ``attention_views``.
3. Methods built on them: ``evaluation``, ``finetune``, ``ner`` (a package), ``examples``,
   ``label_search`` and ``soft_prompt`` (prompts found from data; the soft prompt trains through
   ``finetune``'s loop).
4. ``exercises``: the notebooks' self-checks, importing any of the above when a check runs.

``bench/``, ``training/`` and ``tools/`` stand above the package; it never imports them.
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
