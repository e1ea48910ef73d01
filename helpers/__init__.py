"""helpers: the small library behind the prompt-learning notebooks.

A prompt is data (``Template`` + ``Verbalizer``); the model is separate (``load_mlm``);
``MaskScorer`` runs one on the other in batches.
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
