"""How far bf16 moves the class log-probability gap: the evidence behind ``CHECK_MARGIN``.

    python bench/bf16_margin.py            # 500 SST-2 training sentences (not the evaluation data)
    python bench/bf16_margin.py --n 200

Scores the sentences in "{text} It was [MASK]." with great / terrible twice, with
``MaskScorer(precision="fp32")`` and ``precision="bf16"``, and prints the largest and 99th
percentile change bf16 makes to log p(great) - log p(terrible), how many predictions flip,
and the share of sentences that ``classify_checked`` would re-score at a few margins.
``helpers.precision.CHECK_MARGIN`` is twice the largest change measured here. Only meaningful on
a CPU with fast bf16 (elsewhere bf16 is emulated; the numbers still hold, it is only slow).
"""

from __future__ import annotations

import argparse

import numpy as np
from checked import CHECK_MARGIN
from workload import TEMPLATE, VERBALIZER

from helpers import MaskScorer, load_mlm, load_sst2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--n", type=int, default=500)
    args = ap.parse_args()
    model, tokenizer = load_mlm(args.model, device="cpu")
    texts = load_sst2("train").texts[: args.n]
    bound = VERBALIZER.bind(tokenizer)
    gaps = {}
    for precision in ("fp32", "bf16"):
        scorer = MaskScorer(model, tokenizer, progress=False, precision=precision)
        logp = scorer.word_logprobs(texts, TEMPLATE, bound)
        gaps[precision] = logp[:, 1] - logp[:, 0]
    change = np.abs(gaps["bf16"] - gaps["fp32"])
    flips = int(((gaps["bf16"] > 0) != (gaps["fp32"] > 0)).sum())
    print(f"{len(texts)} SST-2 training sentences, model {model.config.name_or_path}")
    print(f"|bf16 gap - fp32 gap| in nats: max {change.max():.3f}, 99th percentile {np.quantile(change, 0.99):.3f}, "
          f"mean {change.mean():.3f}; predictions flipped by bf16: {flips} ({flips / len(texts):.1%})")
    for margin in (0.05, 0.1, CHECK_MARGIN, 0.2, 0.3):
        print(f"margin {margin:.2f}: re-scored {np.mean(np.abs(gaps['bf16']) < margin):.1%} of the sentences")
    print(f"suggested margin (2 x max) = {2 * change.max():.3f}; CHECK_MARGIN = {CHECK_MARGIN}")


if __name__ == "__main__":
    main()
