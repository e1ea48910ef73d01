"""bf16 scoring with the close calls redone in fp32 (``bench/scoring.py``'s "MS checked")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from helpers.inputs import TextInput
    from helpers.template import Template
    from helpers.verbalizer import Verbalizer

# Twice the largest change bf16 made to the log-probability gap between "great" and "terrible"
# on 500 SST-2 *training* sentences with the offline default model (0.076 nats; bench/bf16_margin.py,
# bench/README.md).
CHECK_MARGIN = 0.15


class _Classifier(Protocol):
    """What ``classify_checked`` needs of a scorer: ``MaskScorer.classify``'s signature."""

    def classify(self, texts: Sequence[TextInput], template: Template, verbalizer: Verbalizer,
                 **kwargs: Any) -> np.ndarray: ...


def classify_checked(fast: _Classifier, exact: _Classifier, texts: Sequence[TextInput], template: Template,
                     verbalizer: Verbalizer, margin: float = CHECK_MARGIN, **classify_kwargs: Any) -> np.ndarray:
    """Class probabilities (n, n_classes) from ``fast`` (e.g. bf16), with close calls redone by ``exact``.

    bf16 rounding moves a text's log-probabilities by a few hundredths of a nat, which flips the
    predicted class only where the two most likely classes are that close. So every text whose
    top two classes are within ``margin`` nats (log p1 - log p2) under ``fast`` is scored again
    with ``exact`` (fp32) and takes those probabilities; the rest keep ``fast``'s. The prediction
    then matches fp32 wherever bf16's error stays below ``margin``, at the cost of re-scoring the
    close calls (5.8 % of SST-2 training sentences at the default margin, by
    ``bench/bf16_margin.py``). ``classify_kwargs`` (e.g. ``calibrate``) go to both calls. A
    cascade in the spirit of mixed-precision iterative refinement: cheap arithmetic first,
    exact arithmetic where the answer is in doubt.
    """
    if margin < 0:
        raise ValueError(f"margin must be at least 0 nats, got {margin}")
    texts = list(texts)
    probs = fast.classify(texts, template, verbalizer, **classify_kwargs)
    if probs.shape[1] < 2 or not len(texts):
        return probs
    logp = np.log(np.clip(probs, 1e-30, None))
    top_two = np.sort(logp, axis=1)[:, -2:]
    close = np.flatnonzero(top_two[:, 1] - top_two[:, 0] < margin)
    if close.size:
        probs[close] = exact.classify([texts[i] for i in close], template, verbalizer, **classify_kwargs)
    return probs
