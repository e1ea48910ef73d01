"""The four quality bars of the offline default model, on data it never trained on.

``python -m training.evaluate`` prints them (a few minutes on a laptop CPU);
``python -m training.evaluate --card`` also rewrites ``helpers/offline_model/MODEL_CARD.md``
of this source checkout (never a card inside an installed package). ``--weights DIR``
evaluates trained weights in ``DIR`` (an adapter or full-weight shards) before shipping them.

1. masked-token top-1 accuracy on 1,000 IMDB *test* reviews (BERT masking, seed 0);
2. zero-shot SST-2 validation accuracy, "{text} It was [MASK]." with great / terrible;
3. typing of CoNLL-2003 *test* gold PER / LOC / ORG spans with
   "{sentence} {span} is a type of [MASK]." (label words chosen on the validation split);
4. everyday cloze: the expected word in the top 5 for at least 8 of 10 sentences.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from helpers.data import LabelledTexts, load_conll2003, load_imdb, load_sst2
from helpers.evaluation import evaluate_classifier
from helpers.models import load_mlm
from helpers.ner import gold_spans, typing_accuracy
from helpers.offline_model import ADAPTER_NAME, WEIGHTS_DIR, full_weight_shards, load_offline_mlm, weights_metadata
from helpers.scorer import MaskScorer
from helpers.template import EncodedPrompt, Template
from helpers.verbalizer import Verbalizer

from .corpus import corpus_documents
from .masking import mask_tokens

# The card lives in the source tree beside this folder, whatever copy of helpers is imported.
SOURCE_ROOT = Path(__file__).resolve().parent.parent
CARD_PATH = SOURCE_ROOT / "helpers" / "offline_model" / "MODEL_CARD.md"

SST2_TEMPLATE = "{text} It was {mask}."
SST2_WORDS = {"negative": ["terrible"], "positive": ["great"]}
NER_TEMPLATE = "{sentence} {span} is a type of {mask}."
# Candidate label-word sets for span typing, compared on CoNLL-2003 *validation* only.
NER_WORD_SETS = {
    "A": {"PER": ["person"], "LOC": ["place"], "ORG": ["organization"]},
    "B": {"PER": ["person", "man", "name"], "LOC": ["place", "city", "country"],
          "ORG": ["organization", "company", "team"]},
    "C": {"PER": ["person", "man", "woman", "player"], "LOC": ["place", "city", "country", "location"],
          "ORG": ["organization", "company", "team", "group"]},
}
NER_CHOSEN = "C"  # the best set on validation (see the model card)

# Accepted answers, written down before the model was evaluated.
POSITIVE = {"good", "great", "funny", "interesting", "fun", "excellent", "amazing", "wonderful", "fantastic",
            "beautiful", "awesome", "brilliant", "entertaining", "enjoyable", "nice", "perfect", "hilarious",
            "cool", "fascinating", "impressive", "superb", "lovely", "touching", "sweet", "exciting", "clever",
            "charming", "delightful", "best", "memorable", "incredible", "romantic", "magnificent", "fine"}
NEGATIVE = {"bad", "terrible", "awful", "boring", "horrible", "disgusting", "stupid", "ugly", "dull", "gross",
            "sick", "disturbing", "poor", "painful", "pathetic", "ridiculous", "offensive", "annoying",
            "worse", "worst", "lame", "dumb", "weird", "creepy", "crap", "horrid", "dreadful", "unpleasant",
            "sad", "nasty", "cheap", "silly", "pointless", "worthless", "depressing", "vile", "revolting"}
FOOD = {"pizza", "eggs", "egg", "cereal", "pancakes", "bread", "toast", "sandwiches", "chicken", "rice", "fish",
        "meat", "cheese", "fruit", "soup", "potatoes", "bacon", "food", "burgers", "steak", "salad", "cake",
        "pasta", "oatmeal", "waffles", "apples", "beans", "ham", "sausage", "muffins", "pie", "cookies",
        "donuts", "noodles", "spaghetti", "hamburgers", "chocolate", "popcorn", "porridge", "yogurt", "sushi",
        "breakfast"}
CLOZE = [
    ("the capital of france is [MASK].", {"paris"}),
    ("he drove his [MASK] to work.", {"car"}),
    ("I really like the film a lot. Because it was [MASK].", POSITIVE),
    ("this movie makes me very disgusted. Because it was [MASK].", NEGATIVE),
    ("she poured a glass of [MASK].", {"water", "wine", "milk"}),
    ("the sun rises in the [MASK].", {"east", "morning"}),
    ("a cat is a small [MASK].", {"animal", "cat", "dog"}),
    ("we ate [MASK] for breakfast.", FOOD - {"breakfast"}),
    ("he is a famous football [MASK].", {"player"}),
    ("paris is a city in [MASK].", {"france"}),
]
BARS = {"imdb_masked_token_accuracy": 0.40, "sst2_zero_shot_accuracy": 0.75,
        "conll_span_typing_accuracy": 0.70, "cloze_top5_hits": 8}


def copied_from_sentence(visible: list[int], positions: list[int], predicted: list[int], sentence_ends: set[int],
                         words: set[int]) -> list[bool]:
    """For each blank: is its top-1 a word token shown at another position of the same sentence?

    ``visible`` are the ids the model read (blanks included); sentences end at ids in
    ``sentence_ends``; only ids in ``words`` (whole alphabetic tokens) count as copies, so a
    predicted "." or a word piece ("##s") is not one.
    """
    starts = [0] + [i + 1 for i, t in enumerate(visible) if t in sentence_ends]
    out = []
    for position, guess in zip(positions, predicted):
        start = max(s for s in starts if s <= position)
        end = min([s for s in starts if s > position] + [len(visible)])
        context = {t for i, t in enumerate(visible[start:end], start) if i != position}
        out.append(guess in words and guess in context)
    return out


def masked_token_scores(scorer: MaskScorer, texts: list[str], max_length: int, seed: int = 0) -> dict[str, float]:
    """At BERT-masked positions (15 %, 80/10/10) of ``texts`` cut to ``max_length``: top-1 accuracy and copy rate.

    The copy rate is the share of blanks whose top-1 is a word already shown in the same
    sentence: a small model tends to copy a context word into the blank.
    """
    tok = scorer.tokenizer
    generator = torch.Generator().manual_seed(seed)
    special_ids = torch.tensor(tok.all_special_ids)
    ends = set(tok.convert_tokens_to_ids([".", "!", "?"]))
    words = {i for t, i in tok.get_vocab().items() if t.isalpha()}
    prompts, targets = [], []
    for text in texts:
        ids = torch.tensor([tok.encode(text, truncation=True, max_length=max_length)])
        special = torch.isin(ids, special_ids)
        inputs, labels = mask_tokens(ids, special, tok.mask_token_id, len(tok), generator)
        positions = (labels[0] != -100).nonzero().flatten().tolist()
        prompts.append(EncodedPrompt(inputs[0].tolist(), positions, False))
        targets.append(labels[0, positions].numpy())
    found = scorer.score_masks(prompts, lambda lp: lp.argmax(dim=-1))
    hits = sum(int((f[0] == t).sum()) for f, t in zip(found, targets))
    copies = sum(sum(copied_from_sentence(p.ids, p.mask_positions, f[0].tolist(), ends, words))
                 for p, f in zip(prompts, found))
    blanks = sum(len(t) for t in targets)
    return {"accuracy": hits / blanks, "copy_rate": copies / blanks}


def classifier_accuracy(scorer: MaskScorer, data: LabelledTexts, template: Template, verbalizer: Verbalizer) -> float:
    """Accuracy of the prompt on ``data`` (classes matched by name, ``helpers.evaluation``)."""
    return evaluate_classifier(scorer, data, template, verbalizer)[0].accuracy


def span_typing_accuracy(scorer: MaskScorer, split: str, words: dict[str, list[str]]) -> float:
    """Accuracy of typing gold spans of ``words``' types with the NER template."""
    spans = gold_spans(load_conll2003(split), tuple(words))
    return typing_accuracy(scorer, spans, words, NER_TEMPLATE, aggregate="sum_prob").accuracy


def cloze_results(scorer: MaskScorer) -> list[tuple[str, list[str], bool]]:
    """For each everyday sentence: its top 5 and whether an expected word is among them."""
    out = []
    for (text, expected), top in zip(CLOZE, scorer.top_k([t for t, _ in CLOZE], k=5)):
        words = [w for w, _ in top[0]]
        out.append((text, words, bool(expected & set(words))))
    return out


def evaluate(scorer: MaskScorer, imdb_max_length: int = 512) -> dict:
    """Run the four bars; return the measured values, the cloze details and timings."""
    timings = {}
    t = time.perf_counter()
    imdb = load_imdb("test", n=1000, seed=0)
    mlm = masked_token_scores(scorer, imdb.texts, imdb_max_length)
    acc_mlm, copy_rate = mlm["accuracy"], mlm["copy_rate"]
    acc_mlm_128 = masked_token_scores(scorer, imdb.texts, 128)["accuracy"]  # the adapter's training block length
    timings["imdb"] = time.perf_counter() - t
    t = time.perf_counter()
    sst2 = load_sst2("validation")
    acc_sst2 = classifier_accuracy(scorer, sst2, Template(SST2_TEMPLATE), Verbalizer(SST2_WORDS))
    timings["sst2"] = time.perf_counter() - t
    t = time.perf_counter()
    acc_ner = span_typing_accuracy(scorer, "test", NER_WORD_SETS[NER_CHOSEN])
    timings["conll"] = time.perf_counter() - t
    cloze = cloze_results(scorer)
    return {
        "imdb_masked_token_accuracy": acc_mlm,
        "sst2_zero_shot_accuracy": acc_sst2,
        "conll_span_typing_accuracy": acc_ner,
        "cloze_top5_hits": sum(hit for *_, hit in cloze),
        "imdb_masked_token_accuracy_first_128_tokens": acc_mlm_128,
        "imdb_copy_rate": copy_rate,
        "cloze": cloze,
        "seconds": {k: round(v, 1) for k, v in timings.items()},
    }


def bars_table(results: dict) -> str:
    """A markdown table of each bar: measured value, threshold, met or not."""
    rows = ["| bar | measured | needed | met |", "|---|---|---|---|"]
    for key, needed in BARS.items():
        value = results[key]
        shown = f"{value}/10" if key == "cloze_top5_hits" else f"{100 * value:.1f} %"
        need = f"{needed}/10" if key == "cloze_top5_hits" else f"{100 * needed:.0f} %"
        rows.append(f"| {key} | {shown} | {need} | {'yes' if value >= needed else 'NO'} |")
    return "\n".join(rows)


def cloze_table(results: dict) -> str:
    """A markdown table of the cloze sentences with their top 5."""
    rows = ["| sentence | top 5 | hit |", "|---|---|---|"]
    rows += [f"| {t} | {', '.join(w)} | {'yes' if h else 'no'} |" for t, w, h in results["cloze"]]
    return "\n".join(rows)


def _weights_facts(folder: Path, meta: dict) -> tuple[str, str]:
    """The card's "what was trained" bullet and its training lines, for an adapter or full weights."""
    shards = full_weight_shards(folder)
    if shards:
        size_mb = sum(p.stat().st_size for p in shards) / 1e6
        what = (f"- **This project's training output**: `weights/model-*-of-{len(shards):05d}.safetensors` "
                f"({len(shards)} files, {size_mb:.1f} MB): every weight of the model in fp16, fully fine-tuned "
                f"from {meta.get('init', 'the encoder')}. `helpers.load_mlm()` reads them with the encoder's config.")
        how = (f"- Command: `python -m training.gpu_job.run` on a CUDA GPU (`training/README.md`), "
               f"time budget {meta.get('budget_s', '?')} s.\n"
               f"- Corpus, tokens per source (repeats included): {json.dumps(meta.get('corpus_tokens', {}))}; "
               f"blocks of {meta['seq_len']} tokens.\n"
               f"- Optimiser: AdamW on all weights, peak learning rate {meta['peak_lr']:g}, warm-up then cosine decay "
               f"to 10 % over the time budget, batch {meta['batch_size']} x {meta['seq_len']} tokens, bf16 autocast: "
               f"{meta['bf16_autocast']}.")
    else:
        size_mb = (folder / ADAPTER_NAME).stat().st_size / 1e6
        what = (f"- **This project's training output**: `weights/{ADAPTER_NAME}` ({size_mb:.1f} MB): LoRA\n"
                f"  factors (rank {meta['lora_rank']}, alpha {meta['lora_alpha']:g}, fp16) on every linear layer of "
                "every block,\n  all layer norms, and a new MLM head (transform + output bias; the output matrix is "
                "tied to the\n  frozen word embeddings). `helpers.load_mlm()` merges them into the encoder's weights.")
        how = (f"- Command: `python -m training.train --out runs/mlm` (seeded, resumable).\n"
               f"- Corpus, documents per source (the final run's mix): {json.dumps(meta['corpus'])}. "
               f"Packed into {meta['training_blocks']:,} blocks of {meta['seq_len']} tokens.\n"
               f"- Optimiser: AdamW, peak learning rate {meta['peak_lr']:g}, warm-up then cosine decay to 10 %,\n"
               f"  batch {meta['batch_size']} x {meta['seq_len']} tokens, bf16 autocast: {meta['bf16_autocast']}.")
    return what, how


def _limits(meta: dict) -> str:
    short = meta["seq_len"] < 512
    return (
        f"A small model trained for a short time (about {meta['tokens_seen'] / 1e6:.0f} M tokens "
        f"on {meta['hardware']}) "
        "on movie\nreviews, news and dictionary definitions: it knows fewer everyday facts than a model\n"
        "pretrained on billions of tokens, and its top-k leans towards film words"
        + (f"; positions past\n{meta['seq_len']} tokens were never trained" if short else "")
        + ". What would close the gap: more and more varied English\ntext"
        + (", longer blocks (512 tokens)" if short else "")
        + ", more steps, or a larger encoder. Use\n"
        "`load_mlm(\"bert-base-uncased\")` where the hub is reachable for stronger results."
    )


def write_card(results: dict, validation: dict[str, float], note: str = "", path: Path = CARD_PATH,
               weights_dir: Path = WEIGHTS_DIR) -> None:
    """Write the model card from the shipped weights' training facts and this evaluation."""
    meta = weights_metadata(weights_dir)
    meta["hardware"] = " ".join(str(meta.get("hardware", "?")).split())
    what, how = _weights_facts(Path(weights_dir), meta)
    sets = "\n".join(f"| {k} | {json.dumps(NER_WORD_SETS[k])} | {100 * v:.1f} % |" for k, v in validation.items())
    text = CARD_TEMPLATE.format(
        meta=meta, what=what, how=how, limits=_limits(meta), hours=meta["wall_time_s"] / 3600,
        bars=bars_table(results), cloze=cloze_table(results), sets=sets, chosen=NER_CHOSEN,
        eval_hardware=f"{platform.machine()}, torch threads: {torch.get_num_threads()}, torch {torch.__version__}",
        seconds=results["seconds"], note=note, acc128=100 * results["imdb_masked_token_accuracy_first_128_tokens"],
        copy=100 * results["imdb_copy_rate"],
    )
    path.write_text(text)


CARD_TEMPLATE = """# Model card: promptlab/minilm-l6-mlm (the offline default model)

Written by `python -m training.evaluate --card` from a source checkout; do not edit by hand.

## What it is
A `BertForMaskedLM` (6 layers, hidden 384, 12 heads, the bert-base-uncased WordPiece
vocabulary of 30,522 tokens) for fill-mask, built with no network from:

- **Source encoder**: all-MiniLM-L6-v2 (sentence-transformers; from
  nreimers/MiniLM-L6-H384-uncased, Wang et al. 2020), installed from PyPI as
  `{meta[encoder_package]}=={meta[encoder_package_version]}`. Licence: Apache-2.0 for the model
  (the PyPI wrapper is MIT).
{what}

The sentence-embedding training of all-MiniLM-L6-v2 removed its ability to predict tokens;
continued masked-LM training restored part of it: the evaluation below says
how much, and which of the project's quality bars it does not yet meet.

## Training
The code is in the source checkout's `training/` folder, not in the installed package.
{how}
- Text (`training/corpus.py`): IMDB train minus 250 held-out reviews, SST-2 train phrases of 3+
  words (deduplicated) and CoNLL-2003 train sentences (text only, repeated), all from
  `../shared/data` (train splits only; never a validation or test split, never
  `../shared/holdout`); WordNet 3.0 (Miller 1995; Debian package `wordnet-base`, WordNet 3.0
  licence), each synset's definition, usage examples and "is a kind of" / instance relations
  written as sentences (`--wordnet DIR`); where the mix lists `gcide`, GCIDE definitions and
  quotations (Debian package `dict-gcide`, GPL-2+).
- Objective: BERT masking (15 % of tokens; 80 % [MASK], 10 % random, 10 % unchanged); loss only
  at masked positions.
- Steps: {meta[steps]:,}; tokens seen: {meta[tokens_seen]:,}; wall time: {hours:.2f} h on
  {meta[hardware]} (torch {meta[torch]}).
- Run notes: {note}

## Evaluation (held-out data the model never trained on)
{bars}

Not a bar: masked-token accuracy on only the first 128 tokens of the same reviews (the
training block length; positions beyond 128 were never seen in training): {acc128:.1f} %.
Not a bar: copy rate, the share of those blanks (512 tokens) whose top-1 is a word already
in the same sentence: {copy:.1f} % (lower is better).

1. masked-token top-1 accuracy at BERT-masked positions (80/10/10, seed 0) of a balanced
   seeded sample of 1,000 IMDB *test* reviews, each cut to 512 tokens;
2. zero-shot accuracy on the 872 GLUE SST-2 validation sentences, template
   "{{text}} It was [MASK].", label words great / terrible, no calibration;
3. accuracy of typing the CoNLL-2003 *test* gold PER / LOC / ORG spans with
   "{{sentence}} {{span}} is a type of [MASK]." (label-word set {chosen}, summed probability);
4. everyday cloze, top 5:

{cloze}

Label-word sets for bar 3, compared on CoNLL-2003 **validation** (the test split was not used
to choose):

| set | words | validation accuracy |
|---|---|---|
{sets}

Evaluation time (s): {seconds}, on {eval_hardware}.

Runs that were evaluated against these weights and not shipped, with their learning curves and
the validation comparison: `training/RUNS.md`.

## Limits
{limits}
"""


def validation_scores(scorer: MaskScorer) -> dict[str, float]:
    """What to choose between two sets of weights on: validation data and held-out *train* text only.

    Masked-token accuracy and copy rate on the IMDB train reviews kept out of training (512
    tokens, and their first 128), zero-shot SST-2 validation accuracy, CoNLL-2003 validation
    span typing with the chosen label-word set.
    """
    _, heldout = corpus_documents(0, wordnet=None, gcide=None)
    long, short = masked_token_scores(scorer, heldout, 512), masked_token_scores(scorer, heldout, 128)
    sst2 = load_sst2("validation")
    return {
        "heldout_imdb_masked_token_accuracy": long["accuracy"],
        "heldout_imdb_masked_token_accuracy_first_128_tokens": short["accuracy"],
        "heldout_imdb_copy_rate": long["copy_rate"],
        "sst2_validation_zero_shot_accuracy": classifier_accuracy(scorer, sst2, Template(SST2_TEMPLATE),
                                                                  Verbalizer(SST2_WORDS)),
        "conll_validation_span_typing_accuracy": span_typing_accuracy(scorer, "validation",
                                                                      NER_WORD_SETS[NER_CHOSEN]),
    }


def main(argv: list[str] | None = None) -> None:
    """Print the four bars; with ``--card`` also compare label-word sets and write the card."""
    ap = argparse.ArgumentParser(prog="python -m training.evaluate", description=__doc__.split("\n\n")[0])
    source = ap.add_mutually_exclusive_group()
    source.add_argument("--model", default=None, help="model name or folder (default: the offline default)")
    source.add_argument("--weights", type=Path, default=None,
                        help="a folder of trained weights (adapter or model-*-of-*.safetensors) on the pip encoder")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--card", action="store_true", help=f"also write {CARD_PATH.relative_to(SOURCE_ROOT)}")
    ap.add_argument("--validation", action="store_true",
                    help="print only the validation scores to choose between weights on (no test split)")
    ap.add_argument("--note", default="", help="a sentence for the card's training section (e.g. how the run went)")
    args = ap.parse_args(argv)
    if args.card and (args.model is not None or (args.weights and args.weights.resolve() != WEIGHTS_DIR)):
        ap.error(f"--card describes the shipped weights in {WEIGHTS_DIR}: copy the new weights there first, "
                 "then run --card without --model / --weights")
    if args.card and SOURCE_ROOT not in WEIGHTS_DIR.parents:
        ap.error(f"helpers was imported from {WEIGHTS_DIR.parent.parent}, not from this checkout ({SOURCE_ROOT}): "
                 "run from the checkout's root (or with PYTHONPATH set to it) so that the card describes its weights")
    if args.weights is not None:
        model, tokenizer = load_offline_mlm(args.weights)
    else:
        model, tokenizer = load_mlm(args.model)
    scorer = MaskScorer(model, tokenizer, batch_size=args.batch_size, progress=False)
    if args.validation:
        print(json.dumps({k: round(v, 4) for k, v in validation_scores(scorer).items()}))
        return
    results = evaluate(scorer)
    print(bars_table(results))
    print(f"(not a bar) masked-token accuracy on the first 128 tokens of the same reviews: "
          f"{100 * results['imdb_masked_token_accuracy_first_128_tokens']:.1f} %")
    print(f"(not a bar) copy rate, blanks whose top-1 is a word already in the same sentence: "
          f"{100 * results['imdb_copy_rate']:.1f} %")
    print()
    print(cloze_table(results))
    print(f"\nseconds: {results['seconds']}")
    if args.card:
        validation = {k: span_typing_accuracy(scorer, "validation", w) for k, w in NER_WORD_SETS.items()}
        print("label-word sets on CoNLL validation:", {k: round(v, 4) for k, v in validation.items()})
        write_card(results, validation, note=args.note)
        print(f"wrote {CARD_PATH}")
    met = all(results[k] >= v for k, v in BARS.items())
    print("all bars met" if met else "NOT all bars met")


if __name__ == "__main__":
    main()
