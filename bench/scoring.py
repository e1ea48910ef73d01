"""Batched [MASK] scoring against the obvious alternatives, on the same model and texts.

    python bench/scoring.py            # SST-2 validation (872) and 1,000 IMDB test reviews
    python bench/scoring.py --quick    # a smaller run, under a minute on a laptop CPU

Ways to classify with the prompt "{text} It was [MASK]." and great / terrible:

1. naive: one text per forward pass, logits at every position, the whole vocabulary
   sorted at the mask, then the label words looked up in that ranking (fp32);
2. ``transformers.pipeline("fill-mask", targets=label_words)`` with ``batch_size`` set;
3. ``helpers.MaskScorer.classify`` in fp32;
4. "MS auto": the same with ``precision="auto"``: bf16 where this CPU runs it fast (see
   ``helpers/precision.py``), else fp32 again (the header says which);
5. "MS checked" (only where "auto" is not fp32): ``classify_checked`` (bench/checked.py), the
   "auto" scorer with every close call (top two classes within ``CHECK_MARGIN`` nats) redone
   in fp32.

Long reviews are cut once, inside the text slot, so all methods see the same prompts; by
default all of them use the same fused (SDPA) attention.
Prints one table row per method and workload (texts/s, speed-up, peak memory, agreement with
the naive loop's predictions); a profile of where each batched method's time goes
(tokenisation, encoder, vocabulary head, softmax / sort / selection, and the Python around
them); the achieved share of the CPU's estimated fp32 and bf16 peak; and a last line
``speedup_vs_naive=X speedup_vs_pipeline=Y agreement_vs_naive=Z`` (total time over both
workloads) for the fastest method whose predictions agree with the naive loop on at least
99.5 % of the texts.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import threading
import time
from collections import defaultdict

import numpy as np
import psutil
import torch
from checked import CHECK_MARGIN, classify_checked
from cpu_peak import estimated_cpu_peak
from throughput import useful_flops
from transformers import pipeline
from workload import TEMPLATE, VERBALIZER, cut_reviews

from helpers import MaskScorer, load_imdb, load_mlm, load_sst2
from helpers.precision import cpu_bf16_support
from helpers.scorer import encoder_and_head

AGREEMENT_BAR = 0.995
PARTS = ("tokenise", "encoder", "head", "softmax+sort", "python")


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


class Timers:
    """Wall seconds per part of a run; ``hook`` times a module's forward, ``wrap`` a function."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)
        self.handles = []

    def hook(self, module: torch.nn.Module, part: str) -> None:
        starts = []

        def before(*_):
            starts.append(time.perf_counter())

        def after(*_):
            self.seconds[part] += time.perf_counter() - starts.pop()

        self.handles += [module.register_forward_pre_hook(before), module.register_forward_hook(after)]

    def wrap(self, function, part: str):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[part] += time.perf_counter() - start
        return timed

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def naive(model, tokenizer, prompts: list[str], word_ids: list[int], timers: Timers | None = None) -> np.ndarray:
    """Method 1: one text at a time, full logits, full vocabulary sort, lookup."""
    tokenize = timers.wrap(tokenizer, "tokenise") if timers else tokenizer
    predictions = []
    for prompt in prompts:
        encoded = tokenize(prompt, return_tensors="pt").to(model.device)
        with torch.inference_mode():
            logits = model(**encoded).logits[0]
        start = time.perf_counter()
        at_mask = (encoded["input_ids"][0] == tokenizer.mask_token_id).nonzero()[0, 0]
        ranking = logits[at_mask].argsort(descending=True).tolist()
        ranks = [ranking.index(w) for w in word_ids]
        predictions.append(int(np.argmin(ranks)))
        if timers:
            timers.seconds["softmax+sort"] += time.perf_counter() - start
    return np.array(predictions)


def profile_naive(model, tokenizer, prompts: list[str], word_ids: list[int]) -> dict[str, float]:
    """Seconds per part of the naive loop; "python" is the total minus the timed parts."""
    timers = Timers()
    encoder, head = encoder_and_head(model)
    timers.hook(encoder, "encoder")
    timers.hook(head, "head")
    start = time.perf_counter()
    naive(model, tokenizer, prompts, word_ids, timers)
    total = time.perf_counter() - start
    timers.remove()
    return {**timers.seconds, "python": total - sum(timers.seconds.values()), "total": total}


def profile_scorer(scorer: MaskScorer, texts: list[str]) -> dict[str, float]:
    """Seconds per part of what ``classify`` does: ``Template.encode_batch``, then ``score_masks``.

    "softmax+sort" is the log-softmax over the vocabulary (with building the batch's tensors)
    plus selecting the label words' columns; "python" is the total minus the timed parts.
    """
    timers = Timers()
    columns = torch.as_tensor([ids[0] for ids in VERBALIZER.bind(scorer.tokenizer).word_ids])
    encoder = scorer._cpu_cast(scorer.compute_dtype) if scorer._cast_copy else scorer._encoder
    timers.hook(encoder, "encoder")
    timers.hook(scorer._head, "head")
    engine = scorer._mask_logprobs
    scorer._mask_logprobs = timers.wrap(engine, "engine")
    start = time.perf_counter()
    prompts = timers.wrap(TEMPLATE.encode_batch, "tokenise")(scorer.tokenizer, texts, scorer.max_length, 1)
    scorer.score_masks(prompts, timers.wrap(lambda lp: lp[:, columns], "softmax+sort"))
    total = time.perf_counter() - start
    del scorer._mask_logprobs
    timers.remove()
    parts = dict(timers.seconds)
    parts["softmax+sort"] += parts.pop("engine") - parts["encoder"] - parts["head"]
    return {**parts, "python": total - sum(parts.values()), "total": total}


def with_pipeline(fill_mask, prompts: list[str], words: list[str], batch_size: int) -> np.ndarray:
    """Method 2: the fill-mask pipeline restricted to the label words."""
    results = fill_mask(prompts, targets=words, top_k=len(words), batch_size=batch_size)
    predictions = []
    for result in results:
        score = {r["token_str"].strip(): r["score"] for r in result}
        predictions.append(int(np.argmax([score[w] for w in words])))
    return np.array(predictions)


def main() -> None:
    """Run every method on both workloads; print the table, the profile and the last line."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None, help="hub id or folder (default: the offline default model)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--dtype", default=None, help="float32, float16 or bfloat16 (weights)")
    ap.add_argument("--attention", default="sdpa", choices=["sdpa", "eager"],
                    help="attention for the naive loop and the pipeline (MaskScorer always scores with sdpa)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: PyTorch's choice)")
    ap.add_argument("--n-sst2", type=int, default=872)
    ap.add_argument("--n-imdb", type=int, default=1000)
    ap.add_argument("--quick", action="store_true", help="200 SST-2 sentences and 50 IMDB reviews")
    args = ap.parse_args()
    if args.quick:
        args.n_sst2, args.n_imdb = 200, 50
    if args.threads:
        torch.set_num_threads(args.threads)

    model, tokenizer = load_mlm(args.model, device=args.device, dtype=args.dtype)
    model.set_attn_implementation(args.attention)
    scorers = {"MaskScorer": MaskScorer(model, tokenizer, batch_size=args.batch_size, progress=False),
               "MS auto": MaskScorer(model, tokenizer, batch_size=args.batch_size, progress=False, precision="auto")}
    fast = scorers["MS auto"]
    fill_mask = pipeline("fill-mask", model=model, tokenizer=tokenizer, device=model.device)
    words = [w for label in VERBALIZER.labels for w in VERBALIZER.label_words[label]]
    word_ids = tokenizer.convert_tokens_to_ids(words)
    workloads = {
        "SST-2": load_sst2("validation").texts[: args.n_sst2],
        "IMDB": cut_reviews(tokenizer, load_imdb("test", n=args.n_imdb, seed=0).texts,
                            scorers["MaskScorer"].max_length),
    }
    auto = str(fast.compute_dtype).removeprefix("torch.")
    why = cpu_bf16_support().reason if model.device.type == "cpu" else torch.cuda.get_device_name(model.device)
    print(f"model {model.config.name_or_path} on {model.device} ({platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} threads), dtype {next(model.parameters()).dtype}, batch {args.batch_size}, "
          f"attention {args.attention} (naive, pipeline) / sdpa (MaskScorer)")
    print(f"'MS auto' is MaskScorer(precision='auto'), which computes in {auto} here ({why})")
    checked = fast.compute_dtype != torch.float32
    if checked:
        print(f"'MS checked' is classify_checked('MS auto', 'MaskScorer', margin={CHECK_MARGIN}): "
              "close calls redone in fp32")
    header = (f"{'workload':<10}{'method':<12}{'texts':>6}{'seconds':>9}{'texts/s':>9}{'vs naive':>9}{'vs pipe':>8}"
              f"{'peak MB':>9}{'agree':>7}")
    print(header)
    print("-" * len(header))
    methods = ["naive", "pipeline", *scorers] + (["MS checked"] if checked else [])
    totals = dict.fromkeys(methods, 0.0)
    same = dict.fromkeys(methods, 0)
    for name, texts in workloads.items():
        prompts = [TEMPLATE.fill(t, tokenizer.mask_token) for t in texts]
        runs = {
            "naive": lambda: naive(model, tokenizer, prompts, word_ids),
            "pipeline": lambda: with_pipeline(fill_mask, prompts, words, args.batch_size),
            **{method: (lambda s=s: s.classify(texts, TEMPLATE, VERBALIZER).argmax(axis=1)) for method,
               s in scorers.items()},
        }
        if checked:
            runs["MS checked"] = lambda: classify_checked(fast, scorers["MaskScorer"], texts, TEMPLATE,
                                                          VERBALIZER).argmax(axis=1)
        fast.classify(texts[:2], TEMPLATE, VERBALIZER)  # makes the bf16 copy (if any) outside the timing
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
            same[method] += int((predictions[method] == predictions["naive"]).sum())
            print(f"{name:<10}{method:<12}{len(texts):>6}{seconds[method]:>9.2f}{len(texts) / seconds[method]:>9.1f}"
                  f"{seconds['naive'] / seconds[method]:>9.1f}{seconds['pipeline'] / seconds[method]:>8.1f}"
                  f"{memory[method]:>9.0f}{agree:>7.1%}", flush=True)
    profile(model, tokenizer, scorers, workloads, word_ids)
    n = sum(len(texts) for texts in workloads.values())
    agreeing = [m for m in methods if same[m] / n >= AGREEMENT_BAR]
    best = min(agreeing, key=totals.get)
    print(f"fastest method agreeing with the naive loop on >= {AGREEMENT_BAR:.1%} of {n} texts: {best}")
    print(f"speedup_vs_naive={totals['naive'] / totals[best]:.2f} "
          f"speedup_vs_pipeline={totals['pipeline'] / totals[best]:.2f} agreement_vs_naive={same[best] / n:.4f}")


OPERATOR_GROUPS = {  # aten operator names, matched exactly
    "matmul": ("addmm", "mm", "bmm", "matmul", "linear"),
    "attention": ("_scaled_dot_product_flash_attention_for_cpu", "_scaled_dot_product_attention_math",
                  "scaled_dot_product_attention", "softmax", "_softmax"),
    "elementwise+copy": ("gelu", "add", "native_layer_norm", "layer_norm", "copy_", "mul", "div", "where",
                         "bitwise_and", "to", "_to_copy", "contiguous", "clone", "embedding", "index_select",
                         "_log_softmax", "log_softmax", "index", "masked_fill", "fill_"),
}


@contextlib.contextmanager
def quiet_stderr():
    """Silence file descriptor 2: the profiler's C++ side prints start/stop lines there."""
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def operator_shares(scorer: MaskScorer, texts: list[str]) -> dict[str, float]:
    """Share of ``score_masks``'s CPU time per operator group on one batch of the longest texts."""
    prompts = sorted(TEMPLATE.encode_batch(scorer.tokenizer, texts, scorer.max_length, 1), key=lambda p: -len(p.ids))
    batch = prompts[: scorer.batch_size]
    with quiet_stderr(), torch.autograd.profiler.profile() as prof:
        scorer.score_masks(batch, lambda lp: lp[:, :1])
    groups = dict.fromkeys([*OPERATOR_GROUPS, "other"], 0.0)
    for event in prof.key_averages():
        if not event.key.startswith("aten::"):
            continue
        name = event.key.removeprefix("aten::")
        group = next((g for g, names in OPERATOR_GROUPS.items() if name in names), "other")
        groups[group] += event.self_cpu_time_total
    total = sum(groups.values()) or 1.0
    return {g: t / total for g, t in groups.items()}


def profile(model, tokenizer, scorers: dict[str, MaskScorer], workloads: dict[str, list[str]],
            word_ids: list[int]) -> None:
    """Where the time goes, per method and workload, and the share of the estimated peak."""
    print("\nprofile: seconds per part (share of the profiled run); a second, instrumented run")
    header = f"{'workload':<10}{'method':<12}" + "".join(f"{p:>16}" for p in PARTS) + f"{'total':>8}"
    print(header)
    print("-" * len(header))
    shares = []
    for name, texts in workloads.items():
        prompts = [TEMPLATE.fill(t, tokenizer.mask_token) for t in texts]
        lengths = [len(p.ids) for p in TEMPLATE.encode_batch(tokenizer, texts, scorers["MaskScorer"].max_length, 1)]
        runs = {"naive": lambda: profile_naive(model, tokenizer, prompts, word_ids),
                **{m: (lambda s=s: profile_scorer(s, texts)) for m, s in scorers.items()}}
        for method, run in runs.items():
            parts = run()
            cells = "".join(f"{parts.get(p, 0.0):>9.2f} ({parts.get(p, 0.0) / parts['total']:>4.0%})" for p in PARTS)
            print(f"{name:<10}{method:<12}{cells}{parts['total']:>8.2f}")
            flops = sum(useful_flops(model.config, n) for n in lengths)
            encoder_flops = sum(useful_flops(model.config, n) - useful_flops(model.config, 0) for n in lengths)
            dtype = "bf16" if method != "naive" and scorers[method].compute_dtype == torch.bfloat16 else "fp32"
            shares.append((name, method, dtype, flops / parts["total"] / 1e9, encoder_flops / parts["encoder"] / 1e9))
    print("\nCPU time by operator (torch.autograd.profiler, score_masks on one batch of each workload's longest texts)")
    header = f"{'workload':<10}{'method':<12}" + "".join(f"{g:>17}" for g in [*OPERATOR_GROUPS, "other"])
    print(header)
    print("-" * len(header))
    for name, texts in workloads.items():
        for method, scorer in scorers.items():
            shares_by_group = operator_shares(scorer, texts)
            print(f"{name:<10}{method:<12}" + "".join(f"{v:>17.0%}" for v in shares_by_group.values()))
    if model.device.type != "cpu":
        return
    peaks = estimated_cpu_peak()
    print("\nestimated peak (an estimate from the instruction set, not a measurement):")
    for dtype, (gflops, formula) in peaks.items():
        print(f"  {dtype}: {formula} = {gflops:,.0f} GFLOP/s")
    print("achieved: useful FLOPs of each prompt at its own length (as bench/throughput.py counts them;"
          " the naive loop does more) / seconds of the profiled run, and of its encoder alone")
    header = (f"{'workload':<10}{'method':<12}{'dtype':>6}{'GFLOP/s':>9}{'% peak':>8}"
              f"{'encoder GFLOP/s':>17}{'% peak':>8}")
    print(header)
    print("-" * len(header))
    for name, method, dtype, overall, encoder in shares:
        peak = peaks[dtype][0]
        print(f"{name:<10}{method:<12}{dtype:>6}{overall:>9.1f}{overall / peak:>8.1%}"
              f"{encoder:>17.1f}{encoder / peak:>8.1%}")


if __name__ == "__main__":
    main()
