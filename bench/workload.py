"""What the scoring benchmarks score: one prompt, one verbalizer, and reviews cut to fit.

``bench/scoring.py``, ``bench/throughput.py``, ``bench/fast_paths.py`` and
``bench/bf16_margin.py`` all classify with "{text} It was [MASK]." and great / terrible, with
long reviews cut once inside the text slot so that every method sees the same prompts.
``bench/finetune.py`` and ``bench/prompt_search.py`` train on the same prompt, with K examples
per class drawn by ``few_shot``.
"""

from __future__ import annotations

import numpy as np

from helpers import Template, Verbalizer

TEMPLATE = Template("{text} It was {mask}.")
VERBALIZER = Verbalizer({"negative": ["terrible"], "positive": ["great"]})


def cut_reviews(tokenizer, texts: list[str], max_length: int) -> list[str]:
    """Cut each text so that the filled template fits ``max_length`` tokens."""
    fixed = len(TEMPLATE.encode(tokenizer, "", max_length).ids)
    budget = max_length - fixed
    out = []
    for text in texts:
        ids = tokenizer.encode(text, add_special_tokens=False, verbose=False)
        out.append(text if len(ids) <= budget else tokenizer.decode(ids[:budget]))
    return out


def few_shot(data, k: int, seed: int) -> tuple[list[str], np.ndarray]:
    """K examples per class from ``data`` (two classes), seeded and shuffled."""
    rng = np.random.default_rng(seed)
    index = np.concatenate([rng.choice(np.flatnonzero(data.labels == c), k, replace=False) for c in (0, 1)])
    rng.shuffle(index)
    return [data.texts[i] for i in index], data.labels[index]
