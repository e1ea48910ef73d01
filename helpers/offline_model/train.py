"""Continued MLM training that restores fill-mask ability to the pip-installed encoder.

Run ``python -m helpers.offline_model train --out runs/mlm`` (add ``--resume`` to go on
after a stop). Trains LoRA adapters on every linear layer, all layer norms and a new
MLM head; the word embeddings (tied to the output layer) stay frozen. Logs loss and
masked-token accuracy to ``<out>/log.jsonl``; writes ``<out>/checkpoint.pt`` and the
shippable ``<out>/mlm_adapter.safetensors`` every ``--save-every`` steps.

Training text: the *train* splits of IMDB, SST-2 and CoNLL-2003 in the local data folder,
text only. A slice of IMDB train is held out to monitor masked-token accuracy.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import re
import time
from importlib.metadata import version
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from ..data import load_conll2003, load_imdb, load_sst2
from . import ENCODER_PIP_NAME, build_base_mlm, load_offline_tokenizer
from .lora import add_lora
from .masking import mask_tokens

HELDOUT_REVIEWS = 250


WORDNET_DIR = Path("/usr/share/wordnet")  # Debian's wordnet-base package


def _article(phrase: str) -> str:
    return "an" if phrase[:1].lower() in "aeio" else "a"


def wordnet_documents(folder: Path = WORDNET_DIR) -> list[str]:
    """English prose from WordNet 3.0 (Miller 1995): one short document per synset.

    Each synset gives its definition ("paris: national capital of france"), its usage
    examples, and for nouns what it is a kind or an instance of ("a poodle is a kind of dog",
    "paris is a national capital"). Returns [] when the package is not installed.
    """
    files = {"n": folder / "data.noun", "a": folder / "data.adj", "v": folder / "data.verb"}
    if not all(f.is_file() for f in files.values()):
        return []
    synsets = {}
    for pos, path in files.items():
        for line in path.read_text(encoding="latin-1").splitlines():
            if line.startswith("  "):
                continue  # licence header
            head, _, gloss = line.partition(" | ")
            fields = head.split()
            n_words = int(fields[3], 16)
            words = [re.sub(r"\(\w+\)$", "", w).replace("_", " ") for w in fields[4:4 + 2 * n_words:2]]
            n_pointers = int(fields[4 + 2 * n_words])
            pointers = [fields[5 + 2 * n_words + 4 * i: 9 + 2 * n_words + 4 * i] for i in range(n_pointers)]
            synsets[(pos, fields[0])] = (words, pointers, gloss.strip())
    docs = []
    for (pos, _), (words, pointers, gloss) in synsets.items():
        examples = re.findall(r'"([^"]+)"', gloss)
        definition = re.sub(r'"[^"]*"', "", gloss).split(";")[0].strip(" ;")
        lines = []
        for w in words[:1]:
            if pos == "n":
                lines.append(f"{w}: {definition}.")
                for symbol, offset, target_pos, _ in pointers:
                    if symbol in ("@", "@i") and (target_pos, offset) in synsets:
                        kind = synsets[(target_pos, offset)][0][0]
                        lines.append(f"{w} is {_article(kind)} {kind}." if symbol == "@i"
                                     else f"{_article(w)} {w} is a kind of {kind}.")
            elif pos == "a":
                lines.append(f"{w} means {definition}.")
            else:
                lines.append(f"to {w} means to {definition}.")
        docs.append(" ".join(lines + [e.strip() for e in examples]))
    return docs


def corpus_documents(seed: int) -> tuple[dict[str, list[str]], list[str]]:
    """Return training documents by source and the held-out IMDB train reviews."""
    reviews = list(load_imdb("train").texts)
    random.Random(seed).shuffle(reviews)
    phrases = sorted({t for t in load_sst2("train").texts if len(t.split()) >= 3})
    sentences = [" ".join(s.tokens) for s in load_conll2003("train")]
    docs = {"imdb": reviews[HELDOUT_REVIEWS:], "sst2": phrases, "conll": sentences}
    wordnet = wordnet_documents()
    if wordnet:
        random.Random(seed).shuffle(wordnet)
        docs["wordnet"] = wordnet
    return docs, reviews[:HELDOUT_REVIEWS]


def pack(tokenizer, docs: list[str], seq_len: int) -> torch.Tensor:
    """Tokenize ``docs`` into one stream ([SEP] between docs) cut into [CLS] ... [SEP] blocks."""
    stream: list[int] = []
    for ids in tokenizer(docs, add_special_tokens=False)["input_ids"]:
        stream.extend(ids)
        stream.append(tokenizer.sep_token_id)
    body = seq_len - 2
    n = len(stream) // body
    blocks = torch.tensor(stream[: n * body], dtype=torch.long).view(n, body)
    cls = torch.full((n, 1), tokenizer.cls_token_id)
    sep = torch.full((n, 1), tokenizer.sep_token_id)
    return torch.cat([cls, blocks, sep], dim=1)


def masked_lm_loss(model, inputs: torch.Tensor, labels: torch.Tensor):
    """Return (loss, correct, count); the vocabulary layer runs only at masked positions."""
    hidden = model.bert(input_ids=inputs).last_hidden_state
    picked = labels != -100
    logits = model.cls(hidden[picked])
    targets = labels[picked]
    loss = nn.functional.cross_entropy(logits.float(), targets)
    correct = (logits.argmax(-1) == targets).sum().item()
    return loss, correct, int(targets.numel())


def trainable_parameters(model) -> dict[str, nn.Parameter]:
    """Freeze the encoder, then unfreeze LoRA factors, layer norms and the MLM head."""
    for p in model.parameters():
        p.requires_grad_(False)
    chosen = {}
    for name, p in model.named_parameters():
        if "lora_" in name or "LayerNorm" in name or name.startswith("cls.predictions.transform") or name == "cls.predictions.bias":
            p.requires_grad_(True)
            chosen[name] = p
    return chosen


def export_adapter(params: dict[str, nn.Parameter], path: Path, meta: dict) -> None:
    """Save LoRA factors (fp16), norms and head (fp32) with training facts as metadata."""
    tensors = {}
    for name, p in params.items():
        t = p.detach().cpu()
        if "lora_" in name:
            key = "lora." + name.removeprefix("bert.")
            tensors[key] = t.half().contiguous()
        else:
            tensors[name] = t.float().contiguous()
    save_file(tensors, str(path), metadata={"promptlab": json.dumps(meta, sort_keys=True)})


def lr_at(step: int, total: int, warmup: int, peak: float) -> float:
    """Linear warm-up, then cosine decay to 10 % of the peak."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def main(argv: list[str] | None = None) -> None:
    """Train (or resume) and export the adapter."""
    ap = argparse.ArgumentParser(prog="python -m helpers.offline_model train")
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
    ap.add_argument("--no-bf16", action="store_true", help="train in fp32 (bf16 autocast is the default)")
    ap.add_argument("--resume", action="store_true", help="go on from <out>/checkpoint.pt")
    ap.add_argument("--init-from", type=Path, help="start from a trained adapter file, e.g. to train the shipped one further")
    args = ap.parse_args(argv)

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    args.out.mkdir(parents=True, exist_ok=True)
    tok = load_offline_tokenizer()

    docs, heldout = corpus_documents(args.seed)
    docs["conll"] = docs["conll"] * args.conll_repeats
    blocks = torch.cat([pack(tok, d, args.seq_len) for d in docs.values()])
    heldout_blocks = pack(tok, heldout, args.seq_len)[:64]
    print(f"training blocks: {len(blocks)} x {args.seq_len} tokens; held-out blocks: {len(heldout_blocks)}")

    model = build_base_mlm()
    add_lora(model.bert, args.rank, args.alpha)
    model.config.hidden_dropout_prob = 0.0
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0
    params = trainable_parameters(model)
    # Start the output bias at the corpus's log unigram frequencies: the head then only
    # has to learn what context adds.
    counts = torch.bincount(blocks.flatten(), minlength=len(tok)).float()
    model.cls.predictions.bias.data.copy_(torch.log((counts + 1) / counts.sum()))
    model.to(device)
    n_train = sum(p.numel() for p in params.values())
    print(f"trainable parameters: {n_train:,} of {sum(p.numel() for p in model.parameters()):,}")
    no_decay = [p for n, p in params.items() if "LayerNorm" in n or n.endswith("bias")]
    decay = [p for n, p in params.items() if not ("LayerNorm" in n or n.endswith("bias"))]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
        lr=args.lr, betas=(0.9, 0.98), eps=1e-6,
    )

    step, tokens_seen, wall = 0, 0, 0.0
    ckpt_path = args.out / "checkpoint.pt"
    if args.init_from:
        for key, tensor in load_file(str(args.init_from)).items():
            name = "bert." + key.removeprefix("lora.") if key.startswith("lora.") else key
            params[name].data.copy_(tensor.float())
        print(f"initialised from {args.init_from}")
    if args.resume and ckpt_path.exists():
        ckpt = torch.load(ckpt_path, map_location=device)
        for name, tensor in ckpt["params"].items():
            params[name].data.copy_(tensor)
        opt.load_state_dict(ckpt["optimizer"])
        step, tokens_seen, wall = ckpt["step"], ckpt["tokens_seen"], ckpt["wall_time_s"]
        print(f"resumed at step {step}")

    special = lambda ids: (ids == tok.cls_token_id) | (ids == tok.sep_token_id) | (ids == tok.pad_token_id)
    per_epoch = len(blocks) // args.batch_size
    meta_base = {
        "encoder_package": ENCODER_PIP_NAME,
        "encoder_package_version": version(ENCODER_PIP_NAME),
        "lora_rank": args.rank,
        "lora_alpha": args.alpha,
        "seq_len": args.seq_len,
        "batch_size": args.batch_size,
        "peak_lr": args.lr,
        "seed": args.seed,
        "corpus": {k: len(v) for k, v in docs.items()},
        "training_blocks": len(blocks),
        "hardware": f"{platform.machine()} {platform.processor() or ''} {args.threads} threads".strip()
        if device.type == "cpu" else torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "bf16_autocast": not args.no_bf16,
    }

    def heldout_accuracy() -> float:
        model.eval()
        gen = torch.Generator().manual_seed(1234)
        inputs, labels = mask_tokens(heldout_blocks, special(heldout_blocks), tok.mask_token_id, len(tok), gen)
        with torch.inference_mode():
            _, correct, count = masked_lm_loss(model, inputs.to(device), labels.to(device))
        model.train()
        return correct / count

    def save() -> None:
        torch.save({"params": {n: p.detach().cpu() for n, p in params.items()},
                    "optimizer": opt.state_dict(), "step": step, "tokens_seen": tokens_seen,
                    "wall_time_s": wall}, ckpt_path)
        meta = dict(meta_base, steps=step, tokens_seen=tokens_seen, wall_time_s=round(wall))
        export_adapter(params, args.out / "mlm_adapter.safetensors", meta)

    log = (args.out / "log.jsonl").open("a")
    model.train()
    run_loss, run_correct, run_count, t0 = 0.0, 0, 0, time.time()
    while step < args.steps:
        epoch, pos = divmod(step, per_epoch)
        order = torch.randperm(len(blocks), generator=torch.Generator().manual_seed(args.seed + epoch))
        batch = blocks[order[pos * args.batch_size:(pos + 1) * args.batch_size]]
        gen = torch.Generator().manual_seed(args.seed * 1_000_003 + step)
        inputs, labels = mask_tokens(batch, special(batch), tok.mask_token_id, len(tok), gen)
        for group in opt.param_groups:
            group["lr"] = lr_at(step, args.steps, args.warmup, args.lr)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=not args.no_bf16):
            loss, correct, count = masked_lm_loss(model, inputs.to(device), labels.to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(params.values()), 1.0)
        opt.step()
        step += 1
        tokens_seen += batch.numel()
        run_loss += loss.item()
        run_correct += correct
        run_count += count
        if step % args.log_every == 0 or step == args.steps:
            now = time.time()
            wall += now - t0
            t0 = now
            rec = {"step": step, "loss": round(run_loss / args.log_every, 4),
                   "masked_acc": round(run_correct / max(1, run_count), 4),
                   "lr": round(opt.param_groups[0]["lr"], 7), "tokens_seen": tokens_seen,
                   "wall_time_s": round(wall, 1)}
            if step % args.eval_every == 0 or step == args.steps:
                rec["heldout_masked_acc"] = round(heldout_accuracy(), 4)
                t0 = time.time()
            print(json.dumps(rec), flush=True)
            log.write(json.dumps(rec) + "\n")
            log.flush()
            run_loss, run_correct, run_count = 0.0, 0, 0
        if step % args.save_every == 0 or step == args.steps:
            save()
    log.close()


if __name__ == "__main__":
    main()
