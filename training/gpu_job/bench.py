"""After the GPU job: run the project's benchmarks on the device with the weights it just trained.

``python -m training.gpu_job.bench --bundle gpu_bundle --weights OUT --out OUT``

Unpacks the bundle's copies of the evaluation files into a temporary data folder
(``$PROMPTLAB_DATA``), writes the trained fp16 shards and the bundle's tokenizer as a
Hugging Face model folder, then runs ``bench/throughput.py`` and ``bench/ner.py --model
<that folder>`` and saves each one's output as ``<out>/bench_throughput.txt`` and
``<out>/bench_ner.txt``. Needs ``helpers`` to import there (numpy, tqdm, huggingface_hub,
transformers); not the encoder package, not the data folder.
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from transformers import BertConfig, BertForMaskedLM

from .run import open_bundle

ROOT = Path(__file__).resolve().parent.parent.parent


def model_folder(manifest: dict, paths: dict[str, Path], weights: Path, folder: Path) -> Path:
    """Write ``weights``' fp16 shards with the bundle's config and tokenizer as a ``from_pretrained`` folder."""
    from helpers.offline_model import apply_full_weights, full_weight_shards

    shards = full_weight_shards(weights)
    if not shards:
        raise FileNotFoundError(f"{weights} holds no model-*-of-*.safetensors: run training.gpu_job.run first")
    model = BertForMaskedLM(BertConfig(**manifest["config"], architectures=["BertForMaskedLM"]))
    apply_full_weights(model, shards).half().save_pretrained(folder)
    for relative, path in paths.items():
        if relative.startswith("extras/tokenizer/"):
            shutil.copyfile(path, folder / path.name)
    return folder


def unpack_data(paths: dict[str, Path], folder: Path) -> Path:
    """Decompress the bundle's ``extras/data/*.xz`` into ``folder`` (the layout ``helpers.data`` reads)."""
    found = [r for r in paths if r.startswith("extras/data/")]
    if not found:
        raise FileNotFoundError("the bundle holds no evaluation files: build it without --no-bench-data")
    for relative in found:
        target = folder / relative.removeprefix("extras/data/").removesuffix(".xz")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(lzma.decompress(paths[relative].read_bytes()))
    return folder


def main(argv: list[str] | None = None) -> None:
    """Run both benchmarks; their outputs go to ``--out``."""
    ap = argparse.ArgumentParser(prog="python -m training.gpu_job.bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--bundle", type=Path, nargs="+", default=[Path("gpu_bundle")])
    ap.add_argument("--weights", type=Path, default=Path(os.environ.get("OUT", "runs/gpu_out")))
    ap.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "runs/gpu_out")))
    ap.add_argument("--throughput-args", default="", help='extra arguments for bench/throughput.py, e.g. "--quick"')
    ap.add_argument("--ner-args", default="", help="extra arguments for bench/ner.py")
    args = ap.parse_args(argv)
    manifest, paths = open_bundle(args.bundle)
    status = {}
    with tempfile.TemporaryDirectory(prefix="promptlab_bench_") as tmp:
        work = Path(tmp)
        env = dict(os.environ, PROMPTLAB_DATA=str(unpack_data(paths, work / "data")),
                   PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
        folder = model_folder(manifest, paths, args.weights, work / "model")
        runs = {"bench_throughput.txt": ["bench/throughput.py", "--tokenizer", str(folder),
                                         *shlex.split(args.throughput_args)],
                "bench_ner.txt": ["bench/ner.py", "--model", str(folder), *shlex.split(args.ner_args)]}
        for name, command in runs.items():
            done = subprocess.run([sys.executable, *command], cwd=ROOT, env=env, capture_output=True, text=True)
            errors = f"\n[stderr]\n{done.stderr[-4000:]}" if done.returncode else ""
            (args.out / name).write_text(done.stdout + errors)
            status[name] = done.returncode
            print(f"{' '.join(command)}: exit {done.returncode}\n{done.stdout}", flush=True)
    print(json.dumps(status))
    if any(status.values()):
        raise SystemExit(f"a benchmark failed: {status} (its output and error are in {args.out})")


if __name__ == "__main__":
    main()
