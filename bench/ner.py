"""Zero-shot NER on the CoNLL-2003 test split with default arguments: time and per-type P/R/F1.

    python bench/ner.py            # all 3,453 test sentences (the goal: <= 3 minutes on 2 cores)
    python bench/ner.py --quick    # 300 seeded test sentences
    python bench/ner.py --choose   # how the defaults were chosen: a sweep on the validation split

Runs ``ZeroShotNER(scorer, CONLL_TYPES).predict`` with every other argument at its default
(the configuration chosen on CoNLL validation in notebook 5) on ``load_mlm()``'s model,
and the capitalisation heuristic (maximal capitalised runs, all typed as the commonest
type in CoNLL train). Prints wall time, candidate spans and their recall, and a table of
precision / recall / F1 per type and micro-averaged for both; the last line gives the
F1 difference.
"""

from __future__ import annotations

import argparse
import collections
import platform
import random
import time

import numpy as np
import torch

from helpers import MaskScorer, load_conll2003, load_mlm
from helpers.ner import (
    CONLL_TYPES,
    ZeroShotNER,
    bio_from_entities,
    capitalisation_heuristic,
    decode_spans,
    entities_from_bio,
    entity_prf,
)


def main() -> None:
    """Print the run's set-up, the timing line and the P/R/F1 table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None, help="model name or folder (default: the offline default model)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--batch-size", type=int, default=32, help="MaskScorer batch size (its default: 32)")
    ap.add_argument("--precision", default="fp32", help="MaskScorer precision: fp32 (default), bf16, fp16, auto")
    ap.add_argument("--quick", action="store_true", help="300 seeded test sentences instead of all")
    ap.add_argument("--choose", action="store_true",
                    help="sweep threshold and prefer_longer on the full validation split instead (no test)")
    args = ap.parse_args()
    if args.choose:
        choose_on_validation(args)
        return

    model, tokenizer = load_mlm(args.model, device=args.device)
    scorer = MaskScorer(model, tokenizer, batch_size=args.batch_size, progress=False, precision=args.precision)
    test = load_conll2003("test")
    if args.quick:
        test = random.Random(0).sample(test, 300)
    tokens, gold = [s.tokens for s in test], [s.tags for s in test]
    train_types = collections.Counter(e[2] for s in load_conll2003("train") for e in entities_from_bio(s.tags))
    commonest = train_types.most_common(1)[0][0]

    print(f"model {model.config.name_or_path} on {model.device}, {torch.get_num_threads()} threads, "
          f"batch {args.batch_size}, {scorer.compute_dtype}, {platform.processor() or platform.machine()}, "
          f"torch {torch.__version__}")
    ner = ZeroShotNER(scorer, CONLL_TYPES)
    print(ner)
    start = time.perf_counter()
    candidates = ner.candidates(tokens)
    scored = ner.score_spans(tokens, candidates)
    predicted = [ner.decode(len(t), s) for t, s in zip(tokens, scored)]
    seconds = time.perf_counter() - start
    n_spans = sum(len(c) for c in candidates)
    gold_entities = [entities_from_bio(g) for g in gold]
    reachable = sum((s, e) in set(c) for c, g in zip(candidates, gold_entities) for s, e, _ in g)
    n_gold = sum(len(g) for g in gold_entities)
    print(f"{len(tokens)} test sentences, {n_spans} candidate spans ({n_spans / len(tokens):.1f} per sentence), "
          f"candidate span recall {reachable / n_gold:.3f} ({reachable} of {n_gold} gold entities)")
    print(f"zero-shot NER: {seconds:.1f} s wall ({1000 * seconds / len(tokens):.1f} ms per sentence)")

    rows = {"zero-shot NER (defaults)": entity_prf(gold, predicted),
            f"capitalisation heuristic ({commonest})": entity_prf(gold, [capitalisation_heuristic(t, commonest)
                                                                       for t in tokens])}
    header = f"| {'method':<30} | {'type':<5} | {'P':>5} | {'R':>5} | {'F1':>5} | {'gold':>5} | {'predicted':>9} |"
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    for name, scores in rows.items():
        for kind in [*CONLL_TYPES, "micro"]:
            m = scores.get(kind, {"precision": 0.0, "recall": 0.0, "f1": 0.0, "gold": 0, "predicted": 0})
            print(f"| {name:<30} | {kind:<5} | {m['precision']:>5.3f} | {m['recall']:>5.3f} | {m['f1']:>5.3f} "
                  f"| {m['gold']:>5} | {m['predicted']:>9} |")
    f1 = [scores["micro"]["f1"] for scores in rows.values()]
    print(f"micro F1 {f1[0]:.3f} vs heuristic {f1[1]:.3f}: +{f1[0] - f1[1]:.3f}; {seconds:.1f} s for "
          f"{len(tokens)} sentences")


def choose_on_validation(args) -> None:
    """Score every validation candidate once, then decode with a log-spaced grid of
    thresholds and several ``prefer_longer`` values; print the best pairs."""
    model, tokenizer = load_mlm(args.model, device=args.device)
    scorer = MaskScorer(model, tokenizer, batch_size=args.batch_size, progress=False, precision=args.precision)
    validation = load_conll2003("validation")
    tokens, gold = [s.tokens for s in validation], [s.tags for s in validation]
    ner = ZeroShotNER(scorer, CONLL_TYPES)
    print(ner)
    candidates = ner.candidates(tokens)
    gold_entities = [entities_from_bio(g) for g in gold]
    reachable = sum((s, e) in set(c) for c, g in zip(candidates, gold_entities) for s, e, _ in g)
    n_gold = sum(len(g) for g in gold_entities)
    print(f"{len(tokens)} validation sentences, {sum(len(c) for c in candidates) / len(tokens):.2f} candidate spans "
          f"per sentence, candidate span recall {reachable / n_gold:.3f} ({reachable} of {n_gold})")
    scored = ner.score_spans(tokens, candidates)
    results = []
    for prefer_longer in (1.0, 2.0, 3.0, 7.0, 20.0):
        for threshold in np.logspace(-1, 1.5, 26):
            predicted = [bio_from_entities(len(t), decode_spans(s, threshold, prefer_longer))
                         for t, s in zip(tokens, scored)]
            m = entity_prf(gold, predicted)["micro"]
            results.append((m["f1"], m["precision"], m["recall"], float(threshold), prefer_longer))
    print("| prefer_longer | best threshold | P | R | F1 |")
    print("|---|---|---|---|---|")
    for prefer_longer in (1.0, 2.0, 3.0, 7.0, 20.0):
        f1, p, r, th, _ = max(x for x in results if x[4] == prefer_longer)
        print(f"| {prefer_longer:g} | {th:.3g} | {p:.3f} | {r:.3f} | {f1:.3f} |")
    f1, p, r, th, pl = max(results)
    print(f"best on validation: threshold {th:.3g}, prefer_longer {pl:g}: F1 {f1:.3f} "
          f"(defaults: threshold {ner.threshold:g}, prefer_longer {ner.prefer_longer:g})")
    # Does the sentence help? The same pipeline with "{sentence} {span} is a type of {mask}."
    # added to the ensemble (each prompt then holds its sentence and is scored per occurrence).
    ner.templates = [*ner.templates, "{sentence} {span} is a type of {mask}."]
    start = time.perf_counter()
    scored = ner.score_spans(tokens)
    seconds = time.perf_counter() - start
    best = max((entity_prf(gold, [bio_from_entities(len(t), decode_spans(s, th, ner.prefer_longer))
                                  for t, s in zip(tokens, scored)])["micro"]["f1"], float(th))
               for th in np.logspace(-1, 1.5, 26))
    print(f"with the sentence template added to the ensemble: best F1 {best[0]:.3f} at threshold {best[1]:.3g} "
          f"(its scoring alone took {seconds:.0f} s)")


if __name__ == "__main__":
    main()
