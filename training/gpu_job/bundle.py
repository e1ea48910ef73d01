"""Build the GPU job's bundle: starting weights, pre-tokenised corpus, manifest.

``python -m training.gpu_job.bundle --out gpu_bundle`` (a few minutes on two cores).

- ``init.safetensors``: the starting model (by default the shipped offline model, adapter
  merged) with every matrix in int8 and one fp32 scale per row (absmax), vectors in fp16:
  half the size of fp16, so more text fits; full fine-tuning then trains every weight anyway.
- ``corpus/<source>.u16.xz``: each source's documents as one stream of uint16 token ids
  ([SEP] after each document), xz-compressed; ``heldout`` is 250 IMDB *train* reviews kept
  out of training to monitor masked-token accuracy.
- ``extras/``: the tokenizer files and xz copies of the evaluation files that the benchmarks
  read (SST-2 validation, IMDB test, CoNLL-2003 test), for ``training.gpu_job.bench`` to run
  ``bench/throughput.py`` and ``bench/ner.py`` on the GPU after training (``--no-bench-data``
  leaves the data out). Never used for training.
- ``manifest.json``: model config, special token ids, sources with token counts, repeats and
  licences, and the SHA-256 of every file.

Sources are added in order (data sets' train splits, WordNet, GCIDE) until ``--max-mib``;
the last one that does not fit whole is cut to a random sample of its documents. With
``--parts 2`` the files go into ``part1/`` and ``part2/``, each at most ``--max-mib``.
"""

from __future__ import annotations

import argparse
import json
import lzma
import random
import subprocess
from importlib.metadata import version
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import BertForMaskedLM

from ..corpus import DEBIAN_GCIDE, DEBIAN_WORDNET, corpus_documents, token_stream
from ..export import NOT_STORED, sha256_file

MIB = 2**20
TREE_LIMIT_MIB = 64  # the checkout's tracked files and the bundle together stay under this size
CONFIG_KEYS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
               "hidden_act", "max_position_embeddings", "type_vocab_size", "layer_norm_eps",
               "hidden_dropout_prob", "attention_probs_dropout_prob", "pad_token_id")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")
BENCH_DATA = ("sst2/dev.tsv", "imdb/test.csv", "conll2003/test.txt", "conll2003/train.txt")
LICENCES = {
    "imdb": "aclImdb v1 (Maas et al. 2011), train split; research use",
    "sst2": "GLUE SST-2 train split (Socher et al. 2013)",
    "conll": "CoNLL-2003 train split, text of Reuters RCV1; research use",
    "heldout": "aclImdb v1 train split (held out of training)",
    "wordnet": "WordNet 3.0 (Princeton), WordNet 3.0 licence (permissive); Debian wordnet-base",
    "gcide": "GCIDE 0.48 (GNU), GPL-2+; Debian dict-gcide",
}


def quantise_state(model: BertForMaskedLM) -> dict[str, torch.Tensor]:
    """Every 2-D weight as int8 with a per-row fp32 absmax scale (``<name>::scale``); the rest fp16."""
    out = {}
    for key, value in model.state_dict().items():
        if key in NOT_STORED or not value.is_floating_point():
            continue
        value = value.detach().float().cpu()
        if value.dim() == 2:
            scale = value.abs().amax(dim=1).clamp_min(1e-12) / 127
            out[key] = torch.round(value / scale[:, None]).to(torch.int8).contiguous()
            out[f"{key}::scale"] = scale.contiguous()
        else:
            out[key] = value.half().contiguous()
    return out


def compress_stream(ids: list[int]) -> bytes:
    """uint16 little-endian ids, xz-compressed (the vocabulary must have fewer than 65,536 tokens)."""
    tensor = torch.tensor(ids, dtype=torch.int32)
    if len(ids) and (tensor.min() < 0 or tensor.max() >= 2**16):
        raise ValueError("token ids must lie in 0..65535 to be stored as uint16")
    return lzma.compress(tensor.to(torch.int16).numpy().tobytes(), preset=9 | lzma.PRESET_EXTREME)


def tracked_tree_mib(root: Path) -> float:
    """Size of the git-tracked files under ``root`` (what is copied besides the bundle); 0 outside git."""
    try:
        names = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return 0.0
    return sum((root / n).stat().st_size for n in names.decode().split("\0") if n and (root / n).is_file()) / MIB


def build_bundle(out: Path, model: BertForMaskedLM, tokenizer, docs: dict[str, list[str]], heldout: list[str],
                 init_name: str, repeats: dict[str, int] | None = None, max_mib: float = 60.0, parts: int = 1,
                 seed: int = 0, facts: dict | None = None, extras: dict[str, Path] | None = None) -> dict:
    """Write the bundle to ``out`` (``out/part1``, ``out/part2`` when ``parts == 2``); return the manifest.

    ``docs`` is filled in order until the parts are full; a source that does not fit whole is
    cut to a seeded random sample of its documents, one that does not fit at all is left out.
    ``extras`` maps bundle paths to files copied first (xz-compressed when the path ends in .xz).
    """
    if parts not in (1, 2):
        raise ValueError(f"parts must be 1 or 2, got {parts}")
    out = Path(out)
    dirs = [out] if parts == 1 else [out / "part1", out / "part2"]
    for d in dirs:
        (d / "corpus").mkdir(parents=True, exist_ok=True)
        for old in list(d.glob("*.safetensors")) + list((d / "corpus").glob("*.xz")):
            old.unlink()
    budget = [max_mib * MIB] * parts
    reserve = min(64 * 1024, max_mib * MIB / 100)  # room for the manifest
    files: dict[str, dict] = {}

    def place(relative: str, write, what: str) -> bool:
        """Write a file into the first part with room for it; False (and nothing kept) when none has."""
        probe = dirs[0] / relative
        write(probe)
        size = probe.stat().st_size
        for i, d in enumerate(dirs):
            if size <= budget[i] - reserve:
                if d != dirs[0]:
                    probe.rename(d / relative)
                budget[i] -= size
                files[relative] = {"part": i + 1, "bytes": size, "sha256": sha256_file(d / relative), "what": what}
                return True
        probe.unlink()
        return False

    if not place("init.safetensors", lambda p: save_file(quantise_state(model), str(p)), init_name):
        raise ValueError(f"the starting weights alone exceed --max-mib {max_mib}")
    for relative, source in (extras or {}).items():
        (dirs[0] / relative).parent.mkdir(parents=True, exist_ok=True)
        if not place(relative, lambda p, src=source: p.write_bytes(
                lzma.compress(Path(src).read_bytes()) if relative.endswith(".xz") else Path(src).read_bytes()),
                f"copy of {source}"):
            raise ValueError(f"no room for {relative}; raise --max-mib or pass --no-bench-data")
    sources = {}
    for name, texts in [("heldout", heldout)] + list(docs.items()):
        ids = token_stream(tokenizer, texts)
        blob = compress_stream(ids)
        kept = len(texts)
        free = max(budget)
        if len(blob) > free - reserve and name != "heldout":
            # Cut to a random sample that fits, from a size estimate, then shrink until it does.
            share = (free - reserve) / len(blob)
            order = list(range(len(texts)))
            random.Random(seed).shuffle(order)
            while share > 0.01:
                kept = int(len(texts) * share * 0.97)
                ids = token_stream(tokenizer, [texts[i] for i in sorted(order[:kept])])
                blob = compress_stream(ids)
                if len(blob) <= free - reserve:
                    break
                share *= 0.9
        relative = f"corpus/{name}.u16.xz"
        if place(relative, lambda p, b=blob: p.write_bytes(b), f"{name} token ids"):
            sources[name] = {"file": relative, "tokens": len(ids), "documents": kept, "documents_available": len(texts),
                             "repeat": (repeats or {}).get(name, 1), "licence": LICENCES.get(name,
                                                                                             "see the model card")}
        elif name == "heldout":
            raise ValueError("no room left for the held-out reviews; raise --max-mib")
    config = {k: getattr(model.config, k) for k in CONFIG_KEYS}
    manifest = {
        "format": 1, "init": init_name, "config": config,
        "special_ids": {"cls": tokenizer.cls_token_id, "sep": tokenizer.sep_token_id,
                        "pad": tokenizer.pad_token_id, "mask": tokenizer.mask_token_id},
        "sources": sources, "files": files, "parts": parts, "torch_built_with": torch.__version__, **(facts or {}),
    }
    (dirs[0] / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return manifest


def bench_extras(encoder: Path, data: Path | None) -> dict[str, Path]:
    """Bundle paths of the tokenizer files and (unless ``data`` is None) the benchmarks' evaluation files."""
    extras = {f"extras/tokenizer/{name}": encoder / name for name in TOKENIZER_FILES}
    for relative in BENCH_DATA if data is not None else ():
        if not (data / relative).is_file():
            raise FileNotFoundError(f"{data / relative} is missing; put the data there or pass --no-bench-data")
        extras[f"extras/data/{relative}.xz"] = data / relative
    return extras


def main(argv: list[str] | None = None) -> dict:
    """Build the bundle from the shipped model (or the bare encoder) and the local corpus."""
    ap = argparse.ArgumentParser(prog="python -m training.gpu_job.bundle", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("gpu_bundle"))
    ap.add_argument("--init", choices=("shipped", "encoder"), default="shipped",
                    help="start from the shipped offline model (default) or the bare pip encoder with a new head")
    ap.add_argument("--wordnet", type=Path, default=DEBIAN_WORDNET)
    ap.add_argument("--no-wordnet", action="store_true")
    ap.add_argument("--gcide", type=Path, default=DEBIAN_GCIDE)
    ap.add_argument("--no-gcide", action="store_true")
    ap.add_argument("--conll-repeats", type=int, default=4)
    ap.add_argument("--max-mib", type=float, default=None,
                    help=f"size of each part (default: what fits beside the tracked files in {TREE_LIMIT_MIB} MiB, "
                         "at most 60)")
    ap.add_argument("--parts", type=int, default=1, choices=(1, 2))
    ap.add_argument("--no-bench-data", action="store_true", help="leave out the benchmarks' evaluation files")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    from helpers.data import data_dir
    from helpers.offline_model import (
        ENCODER_PIP_NAME,
        build_base_mlm,
        encoder_dir,
        load_offline_mlm,
        load_offline_tokenizer,
    )

    root = Path(__file__).resolve().parent.parent.parent
    tree = tracked_tree_mib(root)
    max_mib = args.max_mib or min(60.0, TREE_LIMIT_MIB - tree - 1.5)
    if args.parts == 1 and tree + max_mib > TREE_LIMIT_MIB:
        ap.error(f"tracked files ({tree:.1f} MiB) + bundle ({max_mib:.1f} MiB) exceed the {TREE_LIMIT_MIB} MiB "
                 "the checkout and its bundle may take together: lower --max-mib or use --parts 2")
    model = load_offline_mlm()[0] if args.init == "shipped" else build_base_mlm()
    tokenizer = load_offline_tokenizer()
    docs, heldout = corpus_documents(args.seed, wordnet=None if args.no_wordnet else args.wordnet,
                                     gcide=None if args.no_gcide else args.gcide)
    init_name = ("the shipped offline model (pip encoder + mlm_adapter.safetensors)" if args.init == "shipped"
                 else "the pip encoder with a new MLM head")
    manifest = build_bundle(args.out, model, tokenizer, docs, heldout, init_name,
                            repeats={"conll": args.conll_repeats}, max_mib=max_mib, parts=args.parts, seed=args.seed,
                            facts={"encoder_package": ENCODER_PIP_NAME,
                                   "encoder_package_version": version(ENCODER_PIP_NAME)},
                            extras=bench_extras(encoder_dir(), None if args.no_bench_data else data_dir()))
    total = sum(f["bytes"] for f in manifest["files"].values()) / MIB
    print(json.dumps({k: {kk: v[kk] for kk in ("tokens", "documents", "documents_available", "repeat")}
                      for k, v in manifest["sources"].items()}, indent=1))
    print(f"wrote {args.out}: {total:.1f} MiB in {args.parts} part(s); tracked files {tree:.1f} MiB")
    return manifest


if __name__ == "__main__":
    main()
