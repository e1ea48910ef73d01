"""The GPU job: full fine-tuning of every weight from a bundle, sized to a time budget, resumable.

``python -m training.gpu_job.run --bundle gpu_bundle --out OUT --budget-s 480``

Needs torch, transformers and safetensors only (no helpers, no data folder, no network).
BERT masking on 512-token blocks (every ``--short-every``-th step on 128-token blocks of the
same text, so that short prompts stay good), bf16 autocast, AdamW, linear warm-up then cosine decay to
10 % over ``--budget-s`` seconds of training (checkpoints and evaluation not counted). Every
``--checkpoint-every-s`` seconds it logs a line to stdout and ``<out>/train_log.jsonl``,
saves ``<work>/checkpoint.pt`` (weights, optimiser, position; what a rerun resumes from) and
refreshes the fp16 shards ``<out>/model-0000i-of-0000N.safetensors`` (less than 16 MiB each)
with ``<out>/summary.json`` (their SHA-256). A rerun with the same ``--work`` goes on where
the last one stopped, until the budget is spent.
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import platform
import shutil
import time
from pathlib import Path

import torch
from safetensors.torch import load_file
from transformers import BertConfig, BertForMaskedLM

from ..export import save_fp16_shards, sha256_file
from ..masking import mask_tokens, masked_lm_loss
from ..schedule import lr_at_time

SHARD_BYTES = 15 * 2**20  # shards under 16 MiB each, small enough to copy back from a GPU machine one by one
HELDOUT_BLOCKS = 64


class BundleError(RuntimeError):
    """The bundle is incomplete or damaged."""


def open_bundle(dirs: list[Path]) -> tuple[dict, dict[str, Path]]:
    """Read ``manifest.json`` from the first folder; find and checksum every file it lists in ``dirs``."""
    manifest_path = Path(dirs[0]) / "manifest.json"
    if not manifest_path.is_file():
        raise BundleError(f"{manifest_path} not found: build the bundle with `python -m training.gpu_job.bundle` "
                          "and copy its folder here (the first --bundle folder must hold manifest.json)")
    manifest = json.loads(manifest_path.read_text())
    paths = {}
    for relative, facts in manifest["files"].items():
        found = [Path(d) / relative for d in dirs if (Path(d) / relative).is_file()]
        if not found:
            raise BundleError(f"{relative} (part {facts['part']} of {manifest['parts']}) is missing from "
                              f"{', '.join(map(str, dirs))}: copy that part here too and pass its folder to --bundle")
        if sha256_file(found[0]) != facts["sha256"]:
            raise BundleError(f"{found[0]} does not match its checksum in the manifest: rebuild or re-copy the bundle")
        paths[relative] = found[0]
    return manifest, paths


def read_stream(path: Path) -> torch.Tensor:
    """The uint16 token ids of a ``.u16.xz`` file as a 1-D int64 tensor."""
    raw = bytearray(lzma.decompress(path.read_bytes()))
    return torch.frombuffer(raw, dtype=torch.int16).to(torch.int64) & 0xFFFF


def blocks_of(stream: torch.Tensor, seq_len: int, cls_id: int, sep_id: int) -> torch.Tensor:
    """(n, seq_len) blocks ``[CLS] ... [SEP]`` cut from a stream; the tail that does not fill one is dropped."""
    body = seq_len - 2
    n = len(stream) // body
    inner = stream[: n * body].view(n, body)
    return torch.cat([torch.full((n, 1), cls_id), inner, torch.full((n, 1), sep_id)], dim=1)


def load_corpus(manifest: dict, paths: dict[str, Path], seq_len: int,
                short_len: int = 0) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor, dict]:
    """Training blocks (each source repeated as the manifest says), the same text cut into
    ``short_len`` blocks (None when 0), held-out blocks, tokens per source."""
    ids = manifest["special_ids"]
    train, short, tokens = [], [], {}
    heldout = None
    for name, source in manifest["sources"].items():
        stream = read_stream(paths[source["file"]])
        blocks = blocks_of(stream, seq_len, ids["cls"], ids["sep"])
        if name == "heldout":
            heldout = blocks[:HELDOUT_BLOCKS]
            continue
        train += [blocks] * source["repeat"]
        if short_len:
            short += [blocks_of(stream, short_len, ids["cls"], ids["sep"])] * source["repeat"]
        tokens[name] = int(blocks.numel()) * source["repeat"]
    if not train or heldout is None or len(heldout) == 0:
        raise BundleError(f"the bundle fills no training or held-out block of {seq_len} tokens: use a shorter "
                          "--seq-len or a bundle with more text")
    short_blocks = torch.cat(short).to(torch.int32) if short else None
    return torch.cat(train).to(torch.int32), short_blocks, heldout, tokens  # int32 halves GPU memory


def build_model(manifest: dict, init_path: Path, dropout: float | None) -> BertForMaskedLM:
    """A fp32 ``BertForMaskedLM`` from the manifest's config and the bundle's int8/fp16 starting weights."""
    config = dict(manifest["config"])
    if dropout is not None:
        config["hidden_dropout_prob"] = config["attention_probs_dropout_prob"] = dropout
    model = BertForMaskedLM(BertConfig(**config, attn_implementation="sdpa"))
    stored = load_file(str(init_path))
    state = {}
    for key, value in stored.items():
        if key.endswith("::scale"):
            continue
        scale = stored.get(f"{key}::scale")
        state[key] = value.float() * scale[:, None] if scale is not None else value.float()
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith("cls.predictions.decoder") and "position_ids" not in k]
    if missing or unexpected:
        raise BundleError(f"init.safetensors does not fit the config: missing {missing}, extra {unexpected}")
    model.tie_weights()
    return model


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line of ``python -m training.gpu_job.run``."""
    ap = argparse.ArgumentParser(prog="python -m training.gpu_job.run", description=__doc__.split("\n\n")[0])
    ap.add_argument("--bundle", type=Path, nargs="+", default=[Path("gpu_bundle")],
                    help="bundle folder(s): one, or part1 and part2")
    ap.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "runs/gpu_out")),
                    help="where the fp16 shards, the log and summary.json go "
                         "(default: $OUT when set, else runs/gpu_out)")
    ap.add_argument("--work", type=Path, default=Path("runs/gpu_work"), help="checkpoint folder (resumes from it)")
    ap.add_argument("--budget-s", type=float, default=480.0, help="seconds of training the schedule spans")
    ap.add_argument("--warmup-frac", type=float, default=0.05)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--seq-len", type=int, default=512)
    ap.add_argument("--short-len", type=int, default=128,
                    help="length of the shorter blocks mixed in so that short prompts stay good")
    ap.add_argument("--short-every", type=int, default=4,
                    help="every N-th step trains on short blocks (same tokens per step); 0: never")
    ap.add_argument("--dropout", type=float, default=None, help="default: the config's (0.1)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--checkpoint-every-s", type=float, default=60.0)
    ap.add_argument("--device", default="auto", help='"auto" (CUDA when present), "cuda" or "cpu"')
    ap.add_argument("--no-bf16", action="store_true", help="train in fp32")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    """Train until the budget is spent (resuming from ``--work``); return the summary."""
    args = parse_args(argv)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          "cpu" if args.device == "auto" else args.device)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    manifest, paths = open_bundle(args.bundle)
    if args.seq_len > manifest["config"]["max_position_embeddings"]:
        raise SystemExit(f"--seq-len {args.seq_len} exceeds the model's "
                         f"{manifest['config']['max_position_embeddings']} positions")
    short_len = args.short_len if args.short_every and args.short_len < args.seq_len else 0
    blocks, short_blocks, heldout, corpus_tokens = load_corpus(manifest, paths, args.seq_len, short_len)
    blocks, heldout = blocks.to(device), heldout.to(device)
    if short_blocks is not None:
        short_blocks = short_blocks.to(device)
    model = build_model(manifest, paths["init.safetensors"], args.dropout).to(device)
    fused = {"fused": True} if device.type == "cuda" else {}
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.98), eps=1e-6, **fused)
    settings = {k: getattr(args, k) for k in ("lr", "batch_size", "seq_len", "seed", "warmup_frac")}
    settings["short"] = [short_len, args.short_every if short_len else 0]
    state = {"step": 0, "train_s": 0.0, "tokens_seen": 0}
    args.work.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    ckpt_path = args.work / "checkpoint.pt"
    if ckpt_path.exists():
        ckpt = torch.load(ckpt_path, map_location=device)
        if ckpt["settings"] != settings:
            raise SystemExit(f"{ckpt_path} was made with {ckpt['settings']}, not {settings}: "
                             "pass the same settings, or another --work folder to start afresh")
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        state = ckpt["state"]
        print(f"resumed at step {state['step']} after {state['train_s']:.0f} s of training", flush=True)

    ids = manifest["special_ids"]
    special_ids = torch.tensor([ids["cls"], ids["sep"], ids["pad"]], device=device)
    vocab = manifest["config"]["vocab_size"]
    per_epoch = max(1, len(blocks) // args.batch_size)
    hardware = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{platform.machine()} CPU"
    meta = {"form": "full", "init": manifest["init"], "seq_len": args.seq_len, "batch_size": args.batch_size,
            "peak_lr": args.lr, "seed": args.seed,
            "short_blocks": {"len": short_len, "every": args.short_every} if short_len else None,
            "budget_s": args.budget_s, "corpus_tokens": corpus_tokens,
            "hardware": hardware, "torch": torch.__version__, "bf16_autocast": not args.no_bf16,
            "encoder_package": manifest.get("encoder_package", "?"),
            "encoder_package_version": manifest.get("encoder_package_version", "?")}
    log = (args.work / "train_log.jsonl").open("a")  # copied to --out at each checkpoint
    print(f"{len(blocks):,} blocks of {args.seq_len} tokens ({corpus_tokens}); {per_epoch:,} steps per epoch; "
          f"{sum(p.numel() for p in model.parameters()):,} weights on {hardware}", flush=True)

    def heldout_accuracy() -> float:
        model.eval()
        gen = torch.Generator(device).manual_seed(1234)
        inputs, labels = mask_tokens(heldout, torch.isin(heldout, special_ids), ids["mask"], vocab, gen)
        with torch.inference_mode(), torch.autocast(device.type, torch.bfloat16, enabled=not args.no_bf16):
            _, correct, count = masked_lm_loss(model, inputs, labels)
        model.train()
        return correct.item() / max(1, count)

    def checkpoint(window: dict, final: bool) -> dict:
        record = {"step": state["step"], "train_s": round(state["train_s"], 1), "tokens_seen": state["tokens_seen"],
                  "loss": round(window["loss"].item() / window["steps"], 4) if window["steps"] else None,
                  "masked_acc": round(window["correct"].item() / max(1, window["count"]), 4),
                  "lr": round(opt.param_groups[0]["lr"], 8),
                  "tokens_per_s": round(window["tokens"] / max(1e-9, window["seconds"])),
                  "heldout_masked_acc": round(heldout_accuracy(), 4), "final": final}
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "state": state,
                    "settings": settings}, tmp)
        os.replace(tmp, ckpt_path)
        shards = save_fp16_shards(model, args.out, dict(meta, steps=state["step"], tokens_seen=state["tokens_seen"],
                                                        wall_time_s=round(state["train_s"])), SHARD_BYTES)
        summary = dict(record, shards={p.name: sha256_file(p) for p in shards},
                       meta=meta)
        (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
        print(json.dumps(record), flush=True)
        log.write(json.dumps(record) + "\n")
        log.flush()
        shutil.copyfile(args.work / "train_log.jsonl", args.out / "train_log.jsonl")
        return summary

    def new_window() -> dict:
        return {"loss": torch.zeros((), device=device), "correct": torch.zeros((), device=device, dtype=torch.long),
                "count": 0, "steps": 0, "tokens": 0, "seconds": 0.0}

    model.train()
    window, summary = new_window(), None
    last_save = time.perf_counter()
    while state["train_s"] < args.budget_s:
        t0 = time.perf_counter()
        epoch, pos = divmod(state["step"], per_epoch)
        order = torch.randperm(len(blocks), generator=torch.Generator().manual_seed(args.seed + epoch))
        gen = torch.Generator(device).manual_seed(args.seed * 1_000_003 + state["step"])
        if short_len and state["step"] % args.short_every == args.short_every - 1:
            per_row = args.seq_len // short_len  # as many tokens as a long step
            pick = torch.randint(len(short_blocks), (args.batch_size * per_row,), generator=gen, device=device)
            batch = short_blocks[pick].long()
        else:
            batch = blocks[order[pos * args.batch_size:(pos + 1) * args.batch_size].to(device)].long()
        inputs, labels = mask_tokens(batch, torch.isin(batch, special_ids), ids["mask"], vocab, gen)
        lr = lr_at_time(state["train_s"], args.budget_s, args.warmup_frac * args.budget_s, args.lr)
        for group in opt.param_groups:
            group["lr"] = lr
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=not args.no_bf16):
            loss, correct, count = masked_lm_loss(model, inputs, labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        window["loss"] += loss.detach()
        window["correct"] += correct
        window["count"] += count
        window["steps"] += 1
        window["tokens"] += batch.numel()
        state["step"] += 1
        state["tokens_seen"] += batch.numel()
        done = False
        if time.perf_counter() - last_save >= args.checkpoint_every_s or state["train_s"] >= args.budget_s:
            if device.type == "cuda":
                torch.cuda.synchronize()
            done = True
        elapsed = time.perf_counter() - t0
        state["train_s"] += elapsed
        window["seconds"] += elapsed
        if done or state["train_s"] >= args.budget_s:
            summary = checkpoint(window, final=state["train_s"] >= args.budget_s)
            window, last_save = new_window(), time.perf_counter()
    if summary is None:  # an earlier run spent the budget: write its result to this --out again
        summary = checkpoint(window, final=True)
    log.close()
    return summary


if __name__ == "__main__":
    main()
