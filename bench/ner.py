"""Cost of the zero-shot NER pipeline as sentences and spans grow.

    python bench/ner.py           # 40 CoNLL-2003 test sentences per length bin
    python bench/ner.py --quick   # 10 per bin

For sentence-length bins and maximum span lengths 1-4, with and without the
capitalisation filter, prints candidate spans per sentence and scoring throughput
(spans/s, ms per sentence) of ``ZeroShotNER.predict``.
"""

from __future__ import annotations

import argparse
import random
import time

import torch

from helpers import MaskScorer, load_conll2003, load_mlm
from helpers.ner import ZeroShotNER

TYPES = {"PER": ["person"], "LOC": ["location"], "ORG": ["organization"], "MISC": ["event"]}
BINS = [(1, 10), (11, 20), (21, 40)]


def main() -> None:
    """Print one row per (length bin, filter, max span length)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--per-bin", type=int, default=40)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    per_bin = 10 if args.quick else args.per_bin

    model, tokenizer = load_mlm(args.model, device=args.device)
    scorer = MaskScorer(model, tokenizer, batch_size=args.batch_size, progress=False)
    sentences = [s.tokens for s in load_conll2003("test")]
    rng = random.Random(0)
    print(f"model {model.config.name_or_path} on {model.device}, {torch.get_num_threads()} threads, batch {args.batch_size}")
    header = f"{'tokens':<8}{'filter':<13}{'max len':>8}{'spans/sent':>11}{'spans/s':>9}{'ms/sent':>9}"
    print(header)
    print("-" * len(header))
    for low, high in BINS:
        group = rng.sample([s for s in sentences if low <= len(s) <= high], per_bin)
        for span_filter in ("capitalized", "none"):
            for max_len in (1, 2, 3, 4):
                ner = ZeroShotNER(scorer, TYPES, max_span_len=max_len, span_filter=span_filter)
                n_spans = sum(len(c) for c in ner.candidates(group))
                start = time.perf_counter()
                ner.predict(group)
                seconds = time.perf_counter() - start
                print(f"{low:>2}-{high:<5}{span_filter:<13}{max_len:>8}{n_spans / len(group):>11.1f}"
                      f"{n_spans / seconds:>9.0f}{1000 * seconds / len(group):>9.0f}")


if __name__ == "__main__":
    main()
