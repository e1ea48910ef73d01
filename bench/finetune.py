"""Few-shot fine-tuning: time per run, and the sweep that chose the defaults.

    python bench/finetune.py                  # time prompt and head fine-tuning on 16 + 16 SST-2 train examples
    python bench/finetune.py --quick          # one seed, fewer repeats
    python bench/finetune.py --choose         # the hyper-parameter sweep on SST-2 validation
    python bench/finetune.py --choose --method head --out runs/head.jsonl
    python bench/finetune.py --check          # the few-shot goal, measured on all of SST-2 validation

Timing: each method fine-tunes on 32 examples (16 per class, sampled from SST-2 train) with
its defaults; the table has seconds per run (and per step), and the last line is
``prompt_s=<float> head_s=<float>`` (median over seeds). The goal is at most 60 s on a
2-core CPU.

Checking (``--check``), LM-BFF's protocol (Gao et al. 2021): five seeds, each a sampled training
set of K = 16 examples per class from SST-2 train and a development set of as many other
train examples; every learning rate of the grid (and the logistic regression's penalty) is
tried on every seed, and the setting with the best mean development accuracy over the seeds
is reported on the 872 SST-2 validation sentences (the test set here): mean +- standard
deviation over seeds and the 95 % t-interval of the mean. Methods: the zero-shot prompt raw
and calibrated (Zhao et al. 2021; bootstrap interval over sentences), prompt-based
fine-tuning, a linear head on the mean-pooled encoder (same steps as the prompt), and
logistic regression on frozen mean-pooled embeddings (the SetFit paper's cheap baseline).
Everything runs in fp32. ``--seeds 3`` / ``--k 8`` make it cheaper.

Choosing (``--choose``): for every learning rate and number of epochs in the grid, fine-tune
on K = 8, 16, 32, 64 examples per class from SST-2 train (seeds 0 and 1) and measure accuracy
on a fixed, seeded sample of 400 SST-2 validation sentences. The chosen setting has the best
mean accuracy over all K and seeds. Warm-up (10 % of the steps), weight decay (0.01) and
the batch size (8, as in LM-BFF) are fixed at the usual values, not swept. The template is
"{text} It was {mask}." with great / terrible (LM-BFF's SST-2 prompt). ``--quick`` sweeps
at K = 8 and 32 with seed 0 only (the defaults in helpers/finetune.py come from that run,
on a 2-core CPU shared with other jobs: about 40 minutes). ``--out FILE`` keeps every row,
so an interrupted sweep resumes, and ``--lr`` / ``--epochs`` split it across processes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np
import torch
from workload import TEMPLATE, VERBALIZER, few_shot

from helpers import MaskScorer, load_mlm, load_sst2
from helpers.calibration import calibrate_probs
from helpers.data_files import LabelledTexts
from helpers.evaluation import bootstrap_interval, seed_interval, seed_summary
from helpers.finetune import HEAD_DEFAULTS, PROMPT_DEFAULTS, embed, head_finetune, logistic_regression, prompt_finetune

MAX_LENGTH = 64  # SST-2 sentences are at most 55 tokens with the template
GRID = {"prompt": {"lr": [1e-5, 3e-5, 1e-4], "epochs": [10]}, "head": {"lr": [2e-5, 1e-4, 3e-4, 1e-3], "epochs": [10]}}
L2_GRID = [0.01, 0.1, 1.0, 10.0, 100.0]  # logistic regression's penalty (1 / C)


def accuracy(method: str, trained, tokenizer, texts, labels) -> float:
    if method == "prompt":
        probs = MaskScorer(trained, tokenizer, max_length=MAX_LENGTH, progress=False).classify(
            texts, TEMPLATE, VERBALIZER
        )
    else:
        probs = trained.predict_proba(texts)
    return float((probs.argmax(1) == labels).mean())


def train(method: str, model, tokenizer, texts, labels, seed: int, **hyper):
    """Fine-tune with the defaults, or with the hyper-parameters given (``pooling`` for the head)."""
    if method == "prompt":
        return prompt_finetune(
            model,
            tokenizer,
            TEMPLATE,
            VERBALIZER,
            texts,
            labels,
            seed=seed,
            max_length=MAX_LENGTH,
            progress=False,
            device="cpu",
            **hyper,
        )
    return head_finetune(
        model, tokenizer, texts, labels, seed=seed, max_length=MAX_LENGTH, progress=False, device="cpu", **hyper
    )


def choose(args, model, tokenizer) -> None:
    train_set, validation = load_sst2("train"), load_sst2("validation")
    pick = np.random.default_rng(0).choice(len(validation), args.n_validation, replace=False)
    val_texts, val_labels = [validation.texts[i] for i in pick], validation.labels[pick]
    zero = accuracy("prompt", model, tokenizer, val_texts, val_labels)
    print(f"zero-shot accuracy on {len(pick)} SST-2 validation sentences: {zero:.3f}", flush=True)
    done = {}
    if args.out and os.path.exists(args.out):
        for line in open(args.out):
            row = json.loads(line)
            done[(row["method"], row["lr"], row["epochs"], row["k"], row["seed"])] = row["accuracy"]
    for method in args.method:
        for lr in GRID[method]["lr"]:
            for epochs in GRID[method]["epochs"]:
                for k in args.k:
                    for seed in args.seeds:
                        key = (method, lr, epochs, k, seed)
                        if key in done:
                            continue
                        texts, labels = few_shot(train_set, k, seed)
                        start = time.perf_counter()
                        trained = train(method, model, tokenizer, texts, labels, seed, lr=lr, epochs=epochs)
                        seconds = time.perf_counter() - start
                        done[key] = accuracy(method, trained, tokenizer, val_texts, val_labels)
                        row = dict(
                            zip(("method", "lr", "epochs", "k", "seed"), key), accuracy=done[key], seconds=seconds
                        )
                        print(json.dumps(row), flush=True)
                        if args.out:
                            with open(args.out, "a") as f:
                                f.write(json.dumps(row) + "\n")
    print(f"\n{'method':<8}{'lr':>8}{'epochs':>8}" + "".join(f"{'K=' + str(k):>8}" for k in args.k) + f"{'mean':>8}")
    for method in args.method:
        best = None
        for lr in GRID[method]["lr"]:
            for epochs in GRID[method]["epochs"]:
                per_k = [np.mean([done[(method, lr, epochs, k, s)] for s in args.seeds]) for k in args.k]
                mean = float(np.mean(per_k))
                print(f"{method:<8}{lr:>8.0e}{epochs:>8}" + "".join(f"{a:>8.3f}" for a in per_k) + f"{mean:>8.3f}")
                if best is None or mean > best[0]:
                    best = (mean, lr, epochs)
        print(f"chosen for {method}: lr={best[1]:.0e} epochs={best[2]} (mean validation accuracy {best[0]:.3f})")


def dev_set(data, k: int, seed: int, exclude: list[str]) -> tuple[list[str], np.ndarray]:
    """K more examples per class from ``data``, none of them in ``exclude`` (LM-BFF's D_dev, |D_dev| = |D_train|)."""
    taken = set(exclude)
    rng = np.random.default_rng(1000 + seed)
    index = np.concatenate(
        [
            rng.permutation([i for i in np.flatnonzero(data.labels == c) if data.texts[i] not in taken])[:k]
            for c in (0, 1)
        ]
    )
    return [data.texts[i] for i in index], data.labels[index]


def seed_text(values) -> str:
    """mean +- std over seeds and the 95 % t-interval of the mean."""
    interval = seed_interval(values)
    return f"{interval.value:.3f} +- {seed_summary(values)[1]:.3f}  [{interval.low:.3f}, {interval.high:.3f}]"


def check(args, model, tokenizer) -> None:
    """Five sampled training sets; lr / l2 chosen on dev sets by the mean over seeds; report on SST-2 validation."""
    train_set, test = load_sst2("train"), load_sst2("validation")
    if args.n_test:
        pick = np.random.default_rng(0).choice(len(test), args.n_test, replace=False)
        test = LabelledTexts([test.texts[i] for i in pick], test.labels[pick], test.label_names)
    scorer = MaskScorer(model, tokenizer, max_length=MAX_LENGTH, progress=False, precision="fp32")
    raw = scorer.classify(test.texts, TEMPLATE, VERBALIZER)
    calibrated = calibrate_probs(raw, scorer.content_free_probs(TEMPLATE, VERBALIZER))
    k, seeds = args.check_k, args.seeds
    test_embedding = embed(model, tokenizer, test.texts, max_length=MAX_LENGTH)
    dev_acc, test_acc = {}, {}  # (method, setting) -> one accuracy per seed
    for seed in seeds:
        texts, labels = few_shot(train_set, k, seed)
        dev_texts, dev_labels = dev_set(train_set, k, seed, texts)
        x_train, x_dev = (embed(model, tokenizer, t, max_length=MAX_LENGTH) for t in (texts, dev_texts))
        for l2 in L2_GRID:
            probe = logistic_regression(x_train, labels, l2=l2)
            dev_acc.setdefault(("logreg", l2), []).append(float((probe.predict(x_dev) == dev_labels).mean()))
            test_acc.setdefault(("logreg", l2), []).append(float((probe.predict(test_embedding) == test.labels).mean()))
        for method in ("prompt", "head"):
            for lr in GRID[method]["lr"]:
                trained = train(
                    method,
                    model,
                    tokenizer,
                    texts,
                    labels,
                    seed,
                    lr=lr,
                    **({"pooling": "mean"} if method == "head" else {}),
                )
                dev_acc.setdefault((method, lr), []).append(accuracy(method, trained, tokenizer, dev_texts, dev_labels))
                test_acc.setdefault((method, lr), []).append(
                    accuracy(method, trained, tokenizer, test.texts, test.labels)
                )
                print(
                    f"seed {seed} {method:<7} lr={lr:.0e} dev {dev_acc[method, lr][-1]:.3f} "
                    f"test {test_acc[method, lr][-1]:.3f}",
                    flush=True,
                )
    print(
        f"\nSST-2 validation ({len(test.texts)} sentences), K = {k} per class, {len(seeds)} seeds; "
        "setting chosen by mean dev accuracy over seeds"
    )
    print(f"{'method':<34}{'setting':>10}{'mean +- std  [95% interval]':>36}")
    for name, probs in (("zero-shot prompt, raw", raw), ("zero-shot prompt, calibrated", calibrated)):
        interval = bootstrap_interval(test.labels, probs.argmax(1))
        bounds = f"[{interval.low:.3f}, {interval.high:.3f}]"
        print(f"{name:<34}{'-':>10}   {interval.value:.3f}           {bounds} (bootstrap)")
    means = {}
    for method, label, grid in (
        ("prompt", "prompt-based fine-tuning", GRID["prompt"]["lr"]),
        ("head", "mean-pooled head fine-tuning", GRID["head"]["lr"]),
        ("logreg", "logistic regression, frozen", L2_GRID),
    ):
        best = max(grid, key=lambda g: (np.mean(dev_acc[method, g]), -g))
        means[method] = np.mean(test_acc[method, best])
        print(f"{label:<34}{best:>10.0e}   {seed_text(test_acc[method, best])} (over seeds)")
    print(
        f"prompt-zero_raw={means['prompt'] - (raw.argmax(1) == test.labels).mean():+.3f} "
        f"prompt-head={means['prompt'] - means['head']:+.3f} prompt-logreg={means['prompt'] - means['logreg']:+.3f}"
    )


def timing(args, model, tokenizer) -> None:
    train_set = load_sst2("train")
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads")
    print(f"{'method':<8}{'seed':>6}{'examples':>10}{'steps':>7}{'seconds':>9}{'s/step':>8}")
    medians = {}
    for method, defaults in (("prompt", PROMPT_DEFAULTS), ("head", HEAD_DEFAULTS)):
        times = []
        for seed in args.seeds:
            texts, labels = few_shot(train_set, 16, seed)
            start = time.perf_counter()
            train(method, model, tokenizer, texts, labels, seed)
            times.append(time.perf_counter() - start)
            steps = defaults["epochs"] * -(-len(texts) // defaults["batch_size"])
            print(
                f"{method:<8}{seed:>6}{len(texts):>10}{steps:>7}{times[-1]:>9.1f}{times[-1] / steps:>8.2f}", flush=True
            )
        medians[method] = statistics.median(times)
    print(f"prompt_s={medians['prompt']:.1f} head_s={medians['head']:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--choose", action="store_true", help="run the hyper-parameter sweep")
    parser.add_argument("--check", action="store_true", help="the few-shot goal on SST-2 validation")
    parser.add_argument("--quick", action="store_true", help="one seed; the sweep only at K = 8 and 32")
    parser.add_argument("--method", nargs="+", choices=["prompt", "head"], default=["prompt", "head"])
    parser.add_argument("--out", help="JSON lines file of sweep results; rows already there are not rerun")
    parser.add_argument("--n-validation", type=int, default=400)
    parser.add_argument("--lr", type=float, nargs="+", help="sweep only these learning rates (to split the sweep)")
    parser.add_argument("--epochs", type=int, nargs="+", help="sweep only these epoch counts")
    parser.add_argument("--seeds", type=int, help="number of seeds (--check: 5)")
    parser.add_argument("--n-test", type=int, help="--check on a seeded sample of this many sentences (smoke test)")
    parser.add_argument("--k", dest="check_k", type=int, default=16, help="examples per class (--check)")
    args = parser.parse_args()
    if args.seeds is not None and args.seeds < 1:
        parser.error("--seeds must be at least 1")
    n_seeds = args.seeds or (1 if args.quick else 2 if args.choose else 5 if args.check else 3)
    args.k = [8, 32] if args.quick else [8, 16, 32, 64]
    args.seeds = list(range(n_seeds))
    for grid in GRID.values():
        grid["lr"] = [lr for lr in grid["lr"] if args.lr is None or lr in args.lr]
        grid["epochs"] = [e for e in grid["epochs"] if args.epochs is None or e in args.epochs]
    model, tokenizer = load_mlm(device="cpu")
    (choose if args.choose else check if args.check else timing)(args, model, tokenizer)


if __name__ == "__main__":
    main()
