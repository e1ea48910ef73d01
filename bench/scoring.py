"""Batched [MASK] scoring against the obvious alternatives, on the same model and texts.

    python bench/scoring.py            # SST-2 validation (872) and 1,000 IMDB test reviews
    python bench/scoring.py --quick    # a smaller run, under a minute on a laptop CPU

Three ways to classify with the prompt "{text} It was [MASK]." and great / terrible:

1. naive: one text per forward pass, logits at every position, the whole vocabulary
   sorted at the mask, then the label words looked up in that ranking;
2. ``transformers.pipeline("fill-mask", targets=label_words)`` with ``batch_size`` set;
3. ``helpers.MaskScorer.classify``.

Long reviews are cut once, inside the text slot, so all three see the same prompts; by
default all three use the same fused (SDPA) attention.
Prints one table row per method and workload (texts/s, speed-up, peak memory, agreement),
and a last line ``speedup_vs_naive=<float> speedup_vs_pipeline=<float>`` (total time).
"""

from __future__ import annotations

import argparse
import platform
import threading
import time

import numpy as np
import psutil
import torch
from transformers import pipeline

from helpers import MaskScorer, Template, Verbalizer, load_imdb, load_mlm, load_sst2

TEMPLATE = Template("{text} It was {mask}.")
VERBALIZER = Verbalizer({"negative": ["terrible"], "positive": ["great"]})


class PeakMemory:
    """Peak resident memory (CPU) or allocated memory (CUDA) above the start, in MB."""

    def __init__(self, device: torch.device):
        self.device = device

    def __enter__(self):
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
            self.start = torch.cuda.memory_allocated()
        else:
            self.process = psutil.Process()
            self.start = self.peak = self.process.memory_info().rss
            self.running = True
            self.thread = threading.Thread(target=self._sample, daemon=True)
            self.thread.start()
        return self

    def _sample(self):
        while self.running:
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.005)

    def __exit__(self, *exc):
        if self.device.type == "cuda":
            self.mb = (torch.cuda.max_memory_allocated() - self.start) / 1e6
        else:
            self.running = False
            self.thread.join()
            self.mb = (self.peak - self.start) / 1e6


def cut_reviews(tokenizer, texts: list[str], max_length: int) -> list[str]:
    """Cut each text so that the filled template fits ``max_length`` tokens."""
    fixed = len(TEMPLATE.encode(tokenizer, "", max_length).ids)
    budget = max_length - fixed
    out = []
    for text in texts:
        ids = tokenizer.encode(text, add_special_tokens=False, verbose=False)
        out.append(text if len(ids) <= budget else tokenizer.decode(ids[:budget]))
    return out


def naive(model, tokenizer, prompts: list[str], word_ids: list[int]) -> np.ndarray:
    """Method 1: one text at a time, full logits, full vocabulary sort, lookup."""
    predictions = []
    for prompt in prompts:
        encoded = tokenizer(prompt, return_tensors="pt").to(model.device)
        with torch.inference_mode():
            logits = model(**encoded).logits[0]
        at_mask = (encoded["input_ids"][0] == tokenizer.mask_token_id).nonzero()[0, 0]
        ranking = logits[at_mask].argsort(descending=True).tolist()
        ranks = [ranking.index(w) for w in word_ids]
        predictions.append(int(np.argmin(ranks)))
    return np.array(predictions)


def with_pipeline(fill_mask, prompts: list[str], words: list[str], batch_size: int) -> np.ndarray:
    """Method 2: the fill-mask pipeline restricted to the label words."""
    results = fill_mask(prompts, targets=words, top_k=len(words), batch_size=batch_size)
    predictions = []
    for result in results:
        score = {r["token_str"].strip(): r["score"] for r in result}
        predictions.append(int(np.argmax([score[w] for w in words])))
    return np.array(predictions)


def main() -> None:
    """Run the three methods on both workloads and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None, help="hub id or folder (default: the offline default model)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--dtype", default=None, help="float32, float16 or bfloat16 (weights)")
    ap.add_argument("--attention", default="sdpa", choices=["sdpa", "eager"],
                    help="attention for the naive loop and the pipeline (MaskScorer always scores with sdpa)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--n-sst2", type=int, default=872)
    ap.add_argument("--n-imdb", type=int, default=1000)
    ap.add_argument("--quick", action="store_true", help="200 SST-2 sentences and 50 IMDB reviews")
    args = ap.parse_args()
    if args.quick:
        args.n_sst2, args.n_imdb = 200, 50

    model, tokenizer = load_mlm(args.model, device=args.device, dtype=args.dtype)
    model.set_attn_implementation(args.attention)
    scorer = MaskScorer(model, tokenizer, batch_size=args.batch_size, progress=False)
    fill_mask = pipeline("fill-mask", model=model, tokenizer=tokenizer, device=model.device)
    words = [w for label in VERBALIZER.labels for w in VERBALIZER.label_words[label]]
    word_ids = tokenizer.convert_tokens_to_ids(words)
    workloads = {
        "SST-2": load_sst2("validation").texts[: args.n_sst2],
        "IMDB": cut_reviews(tokenizer, load_imdb("test", n=args.n_imdb, seed=0).texts, scorer.max_length),
    }
    print(f"model {model.config.name_or_path} on {model.device} ({platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} threads), dtype {next(model.parameters()).dtype}, batch {args.batch_size}, "
          f"attention {args.attention} (naive, pipeline) / sdpa (MaskScorer)")
    header = f"{'workload':<10}{'method':<12}{'texts':>6}{'seconds':>9}{'texts/s':>9}{'vs naive':>9}{'vs pipe':>8}{'peak MB':>9}{'agree':>7}"
    print(header)
    print("-" * len(header))
    totals = {"naive": 0.0, "pipeline": 0.0, "MaskScorer": 0.0}
    for name, texts in workloads.items():
        prompts = [TEMPLATE.fill(t, tokenizer.mask_token) for t in texts]
        runs = {
            "naive": lambda: naive(model, tokenizer, prompts, word_ids),
            "pipeline": lambda: with_pipeline(fill_mask, prompts, words, args.batch_size),
            "MaskScorer": lambda: scorer.classify(texts, TEMPLATE, VERBALIZER).argmax(axis=1),
        }
        seconds, predictions, memory = {}, {}, {}
        for method, run in runs.items():
            with PeakMemory(model.device) as peak:
                start = time.perf_counter()
                predictions[method] = run()
                if model.device.type == "cuda":
                    torch.cuda.synchronize()
                seconds[method] = time.perf_counter() - start
            memory[method] = peak.mb
            totals[method] += seconds[method]
        for method in runs:
            agree = (predictions[method] == predictions["naive"]).mean()
            print(f"{name:<10}{method:<12}{len(texts):>6}{seconds[method]:>9.2f}{len(texts) / seconds[method]:>9.1f}"
                  f"{seconds['naive'] / seconds[method]:>9.1f}{seconds['pipeline'] / seconds[method]:>8.1f}"
                  f"{memory[method]:>9.0f}{agree:>7.1%}")
    print(f"speedup_vs_naive={totals['naive'] / totals['MaskScorer']:.2f} "
          f"speedup_vs_pipeline={totals['pipeline'] / totals['MaskScorer']:.2f}")


if __name__ == "__main__":
    main()
