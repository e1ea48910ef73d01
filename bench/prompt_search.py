"""Prompts the model finds, compared: searched label words, soft prompts, fine-tuning.

    python bench/prompt_search.py                    # the comparison table: K = 16, five seeds
    python bench/prompt_search.py --quick            # K = 8, three seeds, smaller samples
    python bench/prompt_search.py --check            # search words and tune a prompt on 16 + 16 examples,
                                                     # save, reload, measure on held-out sentiment data

Table: for each seed, K examples per class from SST-2 train; the methods are the hand
verbalizer zero-shot ("{text} It was {mask}." with great / terrible), label words found by
``search_label_words`` (words per class chosen from 1, 3, 10 on the SST-2 validation sample,
calibrated), prompt tuning and P-tuning (LSTM) with ``prompt_tune``'s defaults, and
prompt-based fine-tuning of all weights with ``prompt_finetune``'s defaults. Accuracy on a
seeded sample of SST-2 validation and of IMDB test, raw and calibrated (Zhao et al. 2021):
mean and standard deviation over seeds, and the 95 % bootstrap interval of seed 0. The last
line gives the seconds the whole run took.

Check (``--check``): the defaults, 16 examples per class (seed 0); the label words are saved
as JSON and the soft prompt as safetensors, both reloaded on a freshly loaded model; both are
measured on all 872 SST-2 validation sentences and an IMDB test sample, with intervals.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from workload import TEMPLATE, VERBALIZER, few_shot

from helpers import (
    MaskScorer,
    SoftPrompt,
    TruncationWarning,
    Verbalizer,
    load_imdb,
    load_mlm,
    load_sst2,
    prompt_tune,
    search_label_words,
)
from helpers.evaluation import bootstrap_interval, seed_summary
from helpers.finetune import prompt_finetune

HAND = VERBALIZER
NAMES = list(HAND.labels)
SIZES = (1, 3, 10)


def cell(y, preds: list[np.ndarray]) -> str:
    mean, sd = seed_summary([float((p == y).mean()) for p in preds])
    interval = bootstrap_interval(y, preds[0])
    return f"{mean:.3f}±{sd:.3f} [{interval.low:.3f}, {interval.high:.3f}]"


def table(args) -> None:
    model, tokenizer = load_mlm(None, device=args.device)
    train, val = load_sst2("train"), load_sst2("validation")
    pick = np.random.default_rng(0).choice(len(val), args.n_val, replace=False)
    imdb = load_imdb("test", n=args.n_imdb, seed=0)
    report = {"SST-2": ([val.texts[i] for i in pick], val.labels[pick]), "IMDB": (imdb.texts, imdb.labels)}
    scorer = MaskScorer(model, tokenizer, max_length=args.max_length, progress=False)
    results: dict[str, dict[tuple[str, bool], list[np.ndarray]]] = {}

    def add(method, predict):
        for d, (x, _) in report.items():
            for cal in (False, True):
                results.setdefault(method, {}).setdefault((d, cal), []).append(predict(x, cal).argmax(1))

    for seed in args.seeds:
        texts, labels = few_shot(train, args.k, seed)
        x_val, y_val = report["SST-2"]
        options = {m: search_label_words(model, tokenizer, TEMPLATE, texts, labels, NAMES, words_per_class=m)
                   for m in SIZES}
        found = max(options.values(), key=lambda v: float(
            (scorer.classify(x_val, TEMPLATE, v, True).argmax(1) == y_val).mean()))
        print(f"seed {seed}: searched words {found.label_words}", flush=True)
        if seed == args.seeds[0]:
            add("hand words", lambda x, cal: scorer.classify(x, TEMPLATE, HAND, cal))
        else:
            for preds in results["hand words"].values():
                preds.append(preds[0])
        add("searched words", lambda x, cal: scorer.classify(x, TEMPLATE, found, cal))
        for name, enc in (("prompt tuning", None), ("P-tuning (LSTM)", "lstm")):
            soft = prompt_tune(model, tokenizer, TEMPLATE, HAND, texts, labels, seed=seed, encoder=enc,
                               max_length=args.max_length)
            add(name, soft.classify)
        tuned = prompt_finetune(model, tokenizer, TEMPLATE, HAND, texts, labels, seed=seed,
                                max_length=args.max_length, progress=False)
        tuned_scorer = MaskScorer(tuned, tokenizer, max_length=args.max_length, progress=False)
        add("fine-tuning (all)", lambda x, cal: tuned_scorer.classify(x, TEMPLATE, HAND, cal))
    print(f"\nK = {args.k}, seeds {list(args.seeds)}, SST-2 validation {args.n_val}, IMDB test {args.n_imdb}; "
          "mean±sd over seeds [95 % bootstrap interval of the first seed]")
    head = [f"{d} {'cal.' if cal else 'raw'}" for d in report for cal in (False, True)]
    print(f"{'method':<20}" + "".join(f"{h:<30}" for h in head))
    for method, cells in results.items():
        print(f"{method:<20}" + "".join(f"{cell(report[d][1], p):<30}" for (d, _), p in cells.items()))


def check(args) -> None:
    model, tokenizer = load_mlm(None, device=args.device)
    train, val = load_sst2("train"), load_sst2("validation")
    imdb = load_imdb("test", n=args.n_imdb, seed=0)
    texts, labels = few_shot(train, 16, 0)
    words = search_label_words(model, tokenizer, TEMPLATE, texts, labels, NAMES)
    soft = prompt_tune(model, tokenizer, TEMPLATE, HAND, texts, labels, seed=0)
    folder = Path(tempfile.mkdtemp())
    words.save(folder / "words.json")
    soft.save(folder / "soft.safetensors")
    fresh, _ = load_mlm(None, device=args.device)
    words_again = Verbalizer.load(folder / "words.json")
    soft_again = SoftPrompt.load(folder / "soft.safetensors", fresh, tokenizer)
    scorer = MaskScorer(fresh, tokenizer, max_length=args.max_length, progress=False)
    print(f"searched words {words_again.label_words}; soft prompt file "
          f"{(folder / 'soft.safetensors').stat().st_size} bytes")
    for name, (x, y) in {"SST-2 validation (872)": (val.texts, val.labels),
                         f"IMDB test ({args.n_imdb})": (imdb.texts, imdb.labels)}.items():
        x = list(x)
        for method, predict in (("hand words", lambda cal: scorer.classify(x, TEMPLATE, HAND, cal)),
                                ("searched words", lambda cal: scorer.classify(x, TEMPLATE, words_again, cal)),
                                ("soft prompt", lambda cal: soft_again.classify(x, cal))):
            raw, cal = (bootstrap_interval(y, predict(c).argmax(1)) for c in (False, True))
            print(f"{name:<24}{method:<16} raw {raw}  calibrated {cal}")
    same = np.array_equal(soft_again.classify(list(val.texts[:50])), soft.classify(list(val.texts[:50])))
    print(f"reloaded soft prompt gives identical probabilities: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="K = 8, three seeds, 200 + 100 examples")
    parser.add_argument("--check", action="store_true", help="the 16-per-class check with save and reload")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--max-length", type=int, default=128)
    args = parser.parse_args()
    sizes = (8, (0, 1, 2), 200, 100) if args.quick else (16, (0, 1, 2, 3, 4), 872, 500)
    args.k, args.seeds, args.n_val, args.n_imdb = sizes
    warnings.simplefilter("ignore", TruncationWarning)
    start = time.perf_counter()
    check(args) if args.check else table(args)
    print(f"time: {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
