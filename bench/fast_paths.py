"""Candidate CPU fast paths for MaskScorer, measured against fp32 and bf16: what pays.

    python bench/fast_paths.py                 # fp32, bf16, int8 encoder; ONNX Runtime if installed
    python bench/fast_paths.py --compile       # also torch.compile (minutes of compiling)

Same workload as ``bench/scoring.py --quick`` (200 SST-2 validation sentences, 50 IMDB test
reviews cut to 512 tokens, "{text} It was [MASK]." great / terrible). Each path swaps only the
encoder that ``MaskScorer`` runs; the vocabulary layer and log-softmax stay fp32 at the masks:

- fp32: the model as loaded; bf16: ``precision="bf16"`` (a bf16 copy of the encoder);
- int8: ``torch.ao.quantization.quantize_dynamic`` of the encoder's linear layers with
  per-channel weight scales (the head is left in fp32);
- compile: ``torch.compile`` (inductor, dynamic shapes, weight freezing) of the bf16 encoder;
- onnxruntime: the fp32 encoder exported to ONNX, run by ONNX Runtime's CPU provider (only
  where ``onnxruntime`` and ``onnx`` are importable; the project does not depend on them).

Prints seconds per workload after one warm-up pass, the speed-up over fp32, and agreement of
the predicted class with fp32 over all texts.
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from workload import TEMPLATE, VERBALIZER, cut_reviews

from helpers import MaskScorer, load_imdb, load_mlm, load_sst2


class SwappedEncoder(MaskScorer):
    """A MaskScorer that runs ``encoder`` in place of the model's own (the engine's cast path)."""

    def __init__(self, model, tokenizer, encoder):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            super().__init__(model, tokenizer, batch_size=32, progress=False, precision="bf16")
        self.swapped = encoder

    def _cpu_cast(self, dtype):
        return self.swapped


class OnnxEncoder:
    """The encoder exported to ONNX and run by ONNX Runtime, called like the PyTorch module."""

    def __init__(self, encoder: torch.nn.Module, folder: Path):
        import onnxruntime

        path = folder / "encoder.onnx"
        ids = torch.ones((2, 16), dtype=torch.long)

        class Plain(torch.nn.Module):
            def __init__(self, inner):
                super().__init__()
                self.inner = inner

            def forward(self, input_ids, attention_mask):
                return self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

        torch.onnx.export(Plain(encoder), (ids, ids), str(path), input_names=["input_ids", "attention_mask"],
                          output_names=["hidden"], dynamic_axes={n: {0: "batch", 1: "length"}
                                                                 for n in ("input_ids", "attention_mask", "hidden")},
                          dynamo=False)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def __call__(self, input_ids, attention_mask):
        out = self.session.run(None, {"input_ids": input_ids.numpy(), "attention_mask": attention_mask.numpy()})[0]

        class Output:
            last_hidden_state = torch.from_numpy(out)
        return Output()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--compile", action="store_true", help="also try torch.compile (slow to compile)")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    model, tokenizer = load_mlm(None, device="cpu")
    model.set_attn_implementation("sdpa")
    workloads = {"SST-2": load_sst2("validation").texts[:200],
                 "IMDB": cut_reviews(tokenizer, load_imdb("test", n=50, seed=0).texts, 512)}
    paths = {"fp32": lambda: MaskScorer(model, tokenizer, progress=False),
             "bf16": lambda: MaskScorer(model, tokenizer, progress=False, precision="bf16")}

    def int8():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.ao's notice that this API moves to torchao
            from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic
            encoder = quantize_dynamic(copy.deepcopy(model.bert), {torch.nn.Linear: per_channel_dynamic_qconfig},
                                       dtype=torch.qint8)
        return SwappedEncoder(model, tokenizer, encoder)
    paths["int8 enc"] = int8
    if args.compile:
        def compiled():
            import torch._inductor.config as inductor

            inductor.freezing = True
            encoder = copy.deepcopy(model.bert).to(torch.bfloat16)
            return SwappedEncoder(model, tokenizer, torch.compile(encoder, dynamic=True))
        paths["compile"] = compiled
    try:
        import onnx  # noqa: F401  (the exporter needs it)
        import onnxruntime  # noqa: F401
        folder = Path(tempfile.mkdtemp())
        paths["onnxruntime"] = lambda: SwappedEncoder(model, tokenizer, OnnxEncoder(model.bert, folder))
    except ImportError:
        print("onnxruntime or onnx not installed: no ONNX Runtime row")
    print(f"model {model.config.name_or_path}, {torch.get_num_threads()} threads, torch {torch.__version__}")
    print(f"{'path':<13}{'setup s':>8}" + "".join(f"{w + ' s':>9}" for w in workloads)
          + f"{'total s':>9}{'vs fp32':>8}{'agree':>8}")
    reference, base = None, None
    for name, make in paths.items():
        start = time.perf_counter()
        scorer = make()
        for texts in workloads.values():  # warm-up: kernels, compilation, the bf16 copy
            scorer.classify(texts[:64], TEMPLATE, VERBALIZER)
        setup = time.perf_counter() - start
        seconds, predictions = [], []
        for texts in workloads.values():
            start = time.perf_counter()
            predictions.append(scorer.classify(texts, TEMPLATE, VERBALIZER).argmax(axis=1))
            seconds.append(time.perf_counter() - start)
        predictions = np.concatenate(predictions)
        reference = predictions if reference is None else reference
        base = sum(seconds) if base is None else base
        print(f"{name:<13}{setup:>8.1f}" + "".join(f"{s:>9.2f}" for s in seconds)
              + f"{sum(seconds):>9.2f}{base / sum(seconds):>8.2f}{(predictions == reference).mean():>8.1%}", flush=True)


if __name__ == "__main__":
    main()
