"""Achieved TFLOP/s of ``MaskScorer`` over dtypes and batch sizes, against the model's forward FLOPs.

    python bench/throughput.py                      # bert-base-sized random weights, on a GPU if there is one
    python bench/throughput.py --quick              # a small CPU run (about a minute)
    python bench/throughput.py --model none         # the offline default model instead

The default model is ``BertForMaskedLM`` with the bert-base-uncased configuration and random
weights (speed does not depend on what the weights learned). Workloads as in
``bench/scoring.py``: SST-2 validation sentences and IMDB test reviews cut to 512 tokens, in
the prompt "{text} It was [MASK]." with great / terrible.

Useful FLOPs are counted from the config for each prompt's own length (padding is not
useful work): per layer 8nh^2 (Q, K, V, output) + 4n^2h (scores, weighted sum) + 4nhi (feed
forward), plus the masked-LM head at the mask only (2h^2 + 2hV); the script checks this count
against ``torch.utils.flop_counter`` on one prompt. Achieved TFLOP/s = useful FLOPs / seconds;
"% of peak" uses the dense peak of the device from its data sheet where this script knows it,
or ``--peak-tflops``.
"""

from __future__ import annotations

import argparse
import time

import torch
from torch.utils.flop_counter import FlopCounterMode
from transformers import AutoTokenizer, BertConfig, BertForMaskedLM
from workload import TEMPLATE, VERBALIZER, cut_reviews

from helpers import MaskScorer, load_imdb, load_mlm, load_sst2, resolve_device

# Dense (no sparsity) peak TFLOP/s from NVIDIA's data sheets; fp32 is the non-tensor-core
# rate, which PyTorch uses by default (torch.backends.cuda.matmul.allow_tf32 is False).
PEAK_TFLOPS = {
    "H100 PCIe": {"float32": 51.2, "float16": 756.0, "bfloat16": 756.0},
    "H100": {"float32": 66.9, "float16": 989.4, "bfloat16": 989.4},  # SXM
    "H200": {"float32": 66.9, "float16": 989.4, "bfloat16": 989.4},
    "A100": {"float32": 19.5, "float16": 312.0, "bfloat16": 312.0},
}


def useful_flops(config, length: int, masks: int = 1) -> int:
    """Forward FLOPs of one prompt of ``length`` tokens with the masked-LM head at ``masks`` rows."""
    h, i, n = config.hidden_size, config.intermediate_size, length
    per_layer = 8 * n * h * h + 4 * n * n * h + 4 * n * h * i
    return config.num_hidden_layers * per_layer + masks * (2 * h * h + 2 * h * config.vocab_size)


def counted_flops(scorer: MaskScorer, prompt: str, words: list[int]) -> int:
    """FLOPs of scoring one prompt against ``words`` as counted by PyTorch's operator-level counter."""
    with FlopCounterMode(display=False) as counter:
        scorer.label_logprobs([prompt], words)
    return counter.get_total_flops()


def peak_for(device: torch.device, dtype: str, override: float | None) -> float | None:
    """The device's dense peak TFLOP/s for ``dtype``, if known."""
    if override or device.type != "cuda":
        return override
    name = torch.cuda.get_device_name(device)
    return next((peaks[dtype] for key, peaks in PEAK_TFLOPS.items() if key in name), None)


def build_model(name: str, tokenizer, device: torch.device, dtype: str):
    """The offline default / a named model, or bert-base-sized random weights."""
    if name != "random-bert-base":
        return load_mlm(None if name == "none" else name, device=device, dtype=dtype)[0]
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(tokenizer), attn_implementation="sdpa")  # bert-base-uncased sizes
    return BertForMaskedLM(config).to(device=device, dtype=getattr(torch, dtype)).eval()


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    """Print one row per (dtype, workload, batch size)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="random-bert-base",
                    help="'random-bert-base' (default), 'none' for the offline default model, or a hub id / folder")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--dtypes", default=None, help="comma-separated; default float32,float16,bfloat16 on CUDA, "
                                                   "float32,bfloat16 on CPU")
    ap.add_argument("--tokenizer", default=None,
                    help="a folder with a bert-base-uncased-vocabulary tokenizer (default: the offline model's)")
    ap.add_argument("--batch-sizes", default="8,32,128,512")
    ap.add_argument("--n-sst2", type=int, default=872)
    ap.add_argument("--n-imdb", type=int, default=1000)
    ap.add_argument("--peak-tflops", type=float, default=None, help="the device's peak, for '%% of peak'")
    ap.add_argument("--quick", action="store_true", help="batch sizes 8,32; 64 SST-2 sentences, 8 IMDB reviews")
    args = ap.parse_args()
    if args.quick:
        args.batch_sizes, args.n_sst2, args.n_imdb = "8,32", 64, 8
    device = resolve_device(args.device)
    dtypes = (args.dtypes or ("float32,float16,bfloat16" if device.type == "cuda" else "float32,bfloat16")).split(",")
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]

    if args.tokenizer:
        tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
    else:
        _, tokenizer = load_mlm(None, device="cpu")  # the bert-base-uncased vocabulary
    workloads = {
        "SST-2": [TEMPLATE.fill(t, tokenizer.mask_token) for t in load_sst2("validation").texts[: args.n_sst2]],
        "IMDB": [TEMPLATE.fill(t, tokenizer.mask_token)
                 for t in cut_reviews(tokenizer, load_imdb("test", n=args.n_imdb, seed=0).texts, 512)],
    }
    words = tokenizer.convert_tokens_to_ids([w for label in VERBALIZER.labels for w in VERBALIZER.label_words[label]])
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"model {args.model} on {device} ({where}), torch {torch.__version__}")
    header = f"{'dtype':<10}{'workload':<9}{'batch':>6}{'texts':>7}{'texts/s':>9}{'TFLOP/s':>9}{'% of peak':>10}"
    flops: dict[str, int] = {}  # per workload; depends on the config only, not on dtype or batch size
    for dtype in dtypes:
        model = build_model(args.model, tokenizer, device, dtype)
        if not flops:
            scorer = MaskScorer(model, tokenizer, batch_size=1, progress=False)
            flops = {workload: sum(useful_flops(model.config, len(p.ids)) for p in scorer.encode_texts(prompts))
                     for workload, prompts in workloads.items()}
            probe = workloads["SST-2"][0]
            formula = useful_flops(model.config, len(scorer.encode_texts([probe])[0].ids))
            print(f"FLOPs of one SST-2 prompt: formula {formula / 1e9:.3f} G, torch.utils.flop_counter "
                  f"{counted_flops(scorer, probe, words) / 1e9:.3f} G")
            print(header)
            print("-" * len(header))
        peak = peak_for(device, dtype, args.peak_tflops)
        for workload, prompts in workloads.items():
            for batch_size in batch_sizes:
                scorer = MaskScorer(model, tokenizer, batch_size=batch_size, progress=False)
                scorer.label_logprobs(prompts[:batch_size], words)  # warm-up: kernels, allocator
                synchronize(device)
                start = time.perf_counter()
                scorer.label_logprobs(prompts, words)
                synchronize(device)
                seconds = time.perf_counter() - start
                tflops = flops[workload] / seconds / 1e12
                share = f"{100 * tflops / peak:.1f}" if peak else "n/a"
                print(f"{dtype:<10}{workload:<9}{batch_size:>6}{len(prompts):>7}{len(prompts) / seconds:>9.1f}"
                      f"{tflops:>9.2f}{share:>10}", flush=True)
        del model
        if device.type == "cuda":
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
