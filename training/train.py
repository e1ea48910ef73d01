"""Continued MLM training that restores fill-mask ability to the pip-installed encoder.

Run from a source checkout's root: ``python -m training.train --out runs/mlm`` (add
``--resume`` to go on after a stop). Trains LoRA adapters on every linear layer, all layer
norms and a new MLM head; the word embeddings (tied to the output layer) stay frozen. Logs
loss and masked-token accuracy to ``<out>/log.jsonl``; writes ``<out>/checkpoint.pt`` and
the shippable ``<out>/mlm_adapter.safetensors`` every ``--save-every`` steps. Copy that file
to ``helpers/offline_model/weights/`` to ship it.

Training text: see ``training.corpus`` (train splits only; a slice of IMDB train is held out
to monitor masked-token accuracy).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

from helpers.offline_model import ENCODER_PIP_NAME, build_base_mlm, load_offline_tokenizer

from .corpus import DEBIAN_GCIDE, DEBIAN_WORDNET, corpus_documents, pack
from .export import export_adapter
from .lora import add_lora
from .masking import mask_tokens, masked_lm_loss
from .schedule import lr_at


@dataclass
class Corpus:
    """Packed training blocks (n, seq_len), held-out blocks, and documents per source."""

    blocks: torch.Tensor
    heldout: torch.Tensor
    documents: dict[str, int]


@dataclass
class Progress:
    """Where a run stands; saved in its checkpoint."""

    step: int = 0
    tokens_seen: int = 0
    wall_s: float = 0.0
    log: list[dict] = field(default_factory=list)


def build_corpus(tokenizer, docs: dict[str, list[str]], heldout: list[str], seq_len: int,
                 repeats: dict[str, int] | None = None, heldout_blocks: int = 64) -> Corpus:
    """Pack each source's documents into blocks (a source listed in ``repeats`` is repeated)."""
    repeats = repeats or {}
    blocks = torch.cat([pack(tokenizer, d * repeats.get(name, 1), seq_len) for name, d in docs.items()])
    if len(blocks) == 0:
        raise ValueError(f"the corpus fills no block of {seq_len} tokens; give more text or a shorter --seq-len")
    return Corpus(blocks, pack(tokenizer, heldout, seq_len)[:heldout_blocks],
                  {name: len(d) * repeats.get(name, 1) for name, d in docs.items()})


def trainable_parameters(model) -> dict[str, nn.Parameter]:
    """Freeze the encoder, then unfreeze LoRA factors, layer norms and the MLM head."""
    for p in model.parameters():
        p.requires_grad_(False)
    chosen = {}
    for name, p in model.named_parameters():
        if ("lora_" in name or "LayerNorm" in name or name.startswith("cls.predictions.transform")
                or name == "cls.predictions.bias"):
            p.requires_grad_(True)
            chosen[name] = p
    return chosen


def build_model(base, rank: int, alpha: float, blocks: torch.Tensor) -> tuple[nn.Module, dict[str, nn.Parameter]]:
    """Add LoRA to ``base`` (a ``BertForMaskedLM``), turn dropout off, start the output bias at log unigram frequencies.

    Returns the model and its trainable parameters by name. The bias start means the head
    only has to learn what context adds.
    """
    add_lora(base.bert, rank, alpha)
    for m in base.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0
    params = trainable_parameters(base)
    counts = torch.bincount(blocks.flatten(), minlength=base.config.vocab_size).float()
    base.cls.predictions.bias.data.copy_(torch.log((counts + 1) / counts.sum()))
    return base, params


def make_optimizer(params: dict[str, nn.Parameter], lr: float) -> torch.optim.Optimizer:
    """AdamW with weight decay 0.01 except on layer norms and biases (BERT's recipe, RoBERTa's betas)."""
    no_decay = [p for n, p in params.items() if "LayerNorm" in n or n.endswith("bias")]
    decay = [p for n, p in params.items() if not ("LayerNorm" in n or n.endswith("bias"))]
    return torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                             lr=lr, betas=(0.9, 0.98), eps=1e-6)


def save_run(out: Path, params: dict[str, nn.Parameter], opt: torch.optim.Optimizer, progress: Progress,
             meta: dict) -> Path:
    """Write ``checkpoint.pt`` (to resume) and ``mlm_adapter.safetensors`` (to ship); return the adapter's path."""
    torch.save({"params": {n: p.detach().cpu() for n, p in params.items()}, "optimizer": opt.state_dict(),
                "step": progress.step, "tokens_seen": progress.tokens_seen, "wall_time_s": progress.wall_s},
               out / "checkpoint.pt")
    adapter = out / "mlm_adapter.safetensors"
    export_adapter(params, adapter, dict(meta, steps=progress.step, tokens_seen=progress.tokens_seen,
                                         wall_time_s=round(progress.wall_s)))
    return adapter


def restore(out: Path, params: dict[str, nn.Parameter], opt: torch.optim.Optimizer, device: torch.device,
            init_from: Path | None, resume: bool) -> Progress:
    """Start from an adapter file (``init_from``) and/or go on from ``out/checkpoint.pt`` (``resume``)."""
    progress = Progress()
    if init_from:
        for key, tensor in load_file(str(init_from)).items():
            name = "bert." + key.removeprefix("lora.") if key.startswith("lora.") else key
            if name not in params:
                raise ValueError(f"{init_from} holds {key}, which this model does not train (another rank or model?)")
            params[name].data.copy_(tensor.float())
    ckpt_path = out / "checkpoint.pt"
    if resume and ckpt_path.exists():
        ckpt = torch.load(ckpt_path, map_location=device)
        for name, tensor in ckpt["params"].items():
            params[name].data.copy_(tensor)
        opt.load_state_dict(ckpt["optimizer"])
        progress = Progress(ckpt["step"], ckpt["tokens_seen"], ckpt["wall_time_s"])
    return progress


@dataclass
class LoopConfig:
    """The step-level settings of a run."""

    steps: int
    batch_size: int
    lr: float
    warmup: int
    seed: int = 0
    bf16: bool = True
    log_every: int = 20
    eval_every: int = 200
    save_every: int = 100


def train_loop(model, params: dict[str, nn.Parameter], opt: torch.optim.Optimizer, corpus: Corpus, tokenizer,
               cfg: LoopConfig, progress: Progress, save, log_path: Path | None = None,
               device: torch.device = torch.device("cpu")) -> Progress:
    """Train until ``cfg.steps``: BERT masking, bf16 autocast, gradient clipping at 1.0.

    Each epoch visits the blocks in a seeded order; masks are seeded by step, so a resumed
    run sees what an uninterrupted one would. Calls ``save(progress)`` every ``cfg.save_every``
    steps and at the end; appends a record to ``log_path`` every ``cfg.log_every`` steps.
    """
    special_ids = torch.tensor([tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id])
    mask_id, vocab = tokenizer.mask_token_id, len(tokenizer)
    blocks = corpus.blocks
    per_epoch = max(1, len(blocks) // cfg.batch_size)

    def heldout_accuracy() -> float:
        model.eval()
        gen = torch.Generator().manual_seed(1234)
        inputs, labels = mask_tokens(corpus.heldout, torch.isin(corpus.heldout, special_ids), mask_id, vocab, gen)
        with torch.inference_mode():
            _, correct, count = masked_lm_loss(model, inputs.to(device), labels.to(device))
        model.train()
        return correct.item() / max(1, count)

    log = log_path.open("a") if log_path else None
    model.train()
    run_loss, run_correct, run_count, t0 = 0.0, 0, 0, time.time()
    while progress.step < cfg.steps:
        epoch, pos = divmod(progress.step, per_epoch)
        order = torch.randperm(len(blocks), generator=torch.Generator().manual_seed(cfg.seed + epoch))
        batch = blocks[order[pos * cfg.batch_size:(pos + 1) * cfg.batch_size]]
        gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + progress.step)
        inputs, labels = mask_tokens(batch, torch.isin(batch, special_ids), mask_id, vocab, gen)
        for group in opt.param_groups:
            group["lr"] = lr_at(progress.step, cfg.steps, cfg.warmup, cfg.lr)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.bf16):
            loss, correct, count = masked_lm_loss(model, inputs.to(device), labels.to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(params.values()), 1.0)
        opt.step()
        progress.step += 1
        progress.tokens_seen += batch.numel()
        run_loss, run_correct, run_count = run_loss + loss.item(), run_correct + correct.item(), run_count + count
        if progress.step % cfg.log_every == 0 or progress.step == cfg.steps:
            now = time.time()
            progress.wall_s += now - t0
            n = cfg.log_every if progress.step % cfg.log_every == 0 else progress.step % cfg.log_every
            rec = {"step": progress.step, "loss": round(run_loss / n, 4),
                   "masked_acc": round(run_correct / max(1, run_count), 4),
                   "lr": round(opt.param_groups[0]["lr"], 7), "tokens_seen": progress.tokens_seen,
                   "wall_time_s": round(progress.wall_s, 1)}
            if progress.step % cfg.eval_every == 0 or progress.step == cfg.steps:
                rec["heldout_masked_acc"] = round(heldout_accuracy(), 4)
            t0 = time.time()
            progress.log.append(rec)
            print(json.dumps(rec), flush=True)
            if log:
                log.write(json.dumps(rec) + "\n")
                log.flush()
            run_loss, run_correct, run_count = 0.0, 0, 0
        if progress.step % cfg.save_every == 0 or progress.step == cfg.steps:
            save(progress)
    if log:
        log.close()
    return progress


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line of ``python -m training.train``."""
    ap = argparse.ArgumentParser(prog="python -m training.train", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("runs/mlm"))
    ap.add_argument("--steps", type=int, default=4500)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--lr", type=float, default=7e-4)
    ap.add_argument("--warmup", type=int, default=150)
    ap.add_argument("--rank", type=int, default=64)
    ap.add_argument("--alpha", type=float, default=128.0)
    ap.add_argument("--conll-repeats", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--log-every", type=int, default=20)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--save-every", type=int, default=100)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--wordnet", type=Path, default=DEBIAN_WORDNET,
                    help=f"WordNet 3.0 database folder (default {DEBIAN_WORDNET}, Debian's wordnet-base)")
    ap.add_argument("--no-wordnet", action="store_true", help="train without WordNet prose")
    ap.add_argument("--gcide", type=Path, nargs="?", const=DEBIAN_GCIDE, default=None,
                    help=f"add GCIDE dictionary prose (GPL-2+) from this dictd file (default {DEBIAN_GCIDE})")
    ap.add_argument("--max-docs", type=int, default=None, help="at most this many documents per source (smoke runs)")
    ap.add_argument("--no-bf16", action="store_true", help="train in fp32 (bf16 autocast is the default)")
    ap.add_argument("--resume", action="store_true", help="go on from <out>/checkpoint.pt")
    ap.add_argument("--init-from", type=Path,
                    help="start from a trained adapter file, e.g. to train the shipped one further")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> Path:
    """Train (or resume) and export the adapter; return its path."""
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    args.out.mkdir(parents=True, exist_ok=True)
    tokenizer = load_offline_tokenizer()

    docs, heldout = corpus_documents(args.seed, wordnet=None if args.no_wordnet else args.wordnet, gcide=args.gcide)
    if args.max_docs:
        docs = {name: d[: args.max_docs] for name, d in docs.items()}
        heldout = heldout[: args.max_docs]
    corpus = build_corpus(tokenizer, docs, heldout, args.seq_len, repeats={"conll": args.conll_repeats})
    print(f"training blocks: {len(corpus.blocks)} x {args.seq_len} tokens; held-out blocks: {len(corpus.heldout)}")

    model, params = build_model(build_base_mlm(), args.rank, args.alpha, corpus.blocks)
    model.to(device)
    print(f"trainable parameters: {sum(p.numel() for p in params.values()):,} "
          f"of {sum(p.numel() for p in model.parameters()):,}")
    opt = make_optimizer(params, args.lr)
    progress = restore(args.out, params, opt, device, args.init_from, args.resume)
    if progress.step:
        print(f"resumed at step {progress.step}")

    meta = {
        "encoder_package": ENCODER_PIP_NAME, "encoder_package_version": version(ENCODER_PIP_NAME),
        "lora_rank": args.rank, "lora_alpha": args.alpha, "seq_len": args.seq_len, "batch_size": args.batch_size,
        "peak_lr": args.lr, "seed": args.seed, "corpus": corpus.documents, "training_blocks": len(corpus.blocks),
        "hardware": " ".join(f"{platform.machine()} {platform.processor()} {args.threads} threads".split())
        if device.type == "cpu" else torch.cuda.get_device_name(),
        "torch": torch.__version__, "bf16_autocast": not args.no_bf16,
    }
    cfg = LoopConfig(args.steps, args.batch_size, args.lr, args.warmup, args.seed, not args.no_bf16,
                     args.log_every, args.eval_every, args.save_every)
    train_loop(model, params, opt, corpus, tokenizer, cfg, progress,
               save=lambda p: save_run(args.out, params, opt, p, meta), log_path=args.out / "log.jsonl", device=device)
    return args.out / "mlm_adapter.safetensors"


if __name__ == "__main__":
    main()
