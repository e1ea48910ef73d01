"""Self-checks for the notebooks' exercises: right, or not yet with a hint, never the answer.

In a notebook::

    answer = None                      # the learner replaces None with their answer
    check("01.2", answer, scorer=scorer)

The expected value is computed when the check runs, from the model the notebook uses (passed
as ``scorer=...`` and, where the exercise is about the notebook's own objects, those objects
too), and compared with a tolerance. So a retrained model, or ``bert-base-uncased`` in the
parameters cell, changes what is right without breaking the check; and since nothing is
stored, the notebook holds no answer to read off. An exercise is registered in
``EXERCISES`` by ``@exercise(...)`` on the function that computes its expected value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np
import torch

from .template import continuation_ids
from .verbalizer import Verbalizer

__all__ = ["EXERCISES", "Exercise", "Verdict", "check", "evaluate", "exercise"]

_ID = re.compile(r"^\d\d\.\d+$")


# ----------------------------------------------------------------------------- comparing answers

def _is_number(x: Any) -> bool:
    return isinstance(x, (Real, np.number)) and not isinstance(x, (bool, np.bool_))


def close(rel: float = 0.02, abs_: float = 1e-3) -> Callable[[Any, Any], str | None]:
    """Numbers (or equally long tuples of numbers) within ``rel`` relative or ``abs_`` absolute tolerance.

    A comparator returns None when the answer is right, else a short reason that never
    contains the expected value.
    """
    def compare(answer: Any, expected: Any) -> str | None:
        if _is_number(expected):
            if not _is_number(answer):
                return f"the answer is one number; got {type(answer).__name__}"
            return None if math.isclose(float(answer), float(expected), rel_tol=rel, abs_tol=abs_) else ""
        if isinstance(answer, (str, bytes)) or not isinstance(answer, Sequence | np.ndarray) \
                or len(answer) != len(expected) or not all(_is_number(a) for a in answer):
            return f"the answer is {len(expected)} numbers in a tuple, in the order the exercise asks"
        ok = all(math.isclose(float(a), float(e), rel_tol=rel, abs_tol=abs_) for a, e in zip(answer, expected))
        return None if ok else ""
    return compare


def _normal(text: str) -> str:
    return " ".join(str(text).lower().split())


def same_text(answer: Any, expected: Any) -> str | None:
    """The same text, ignoring case and runs of spaces."""
    if not isinstance(answer, str):
        return f"the answer is a text (a str), copied from the exercise; got {type(answer).__name__}"
    return None if _normal(answer) == _normal(expected) else ""


# ----------------------------------------------------------------------------- the registry

@dataclass(frozen=True)
class Exercise:
    """One checkable exercise: how to compute the expected value, how to compare, and a hint."""

    exercise_id: str
    expected: Callable[..., Any]  # (**context) -> expected value
    compare: Callable[[Any, Any], str | None]
    hint: str
    needs: tuple[str, ...]


@dataclass(frozen=True)
class Verdict:
    """The outcome of a check: ``status`` is "right", "not yet" or "not answered"."""

    exercise_id: str
    status: str
    message: str

    @property
    def right(self) -> bool:
        return self.status == "right"

    def __str__(self) -> str:
        return self.message


EXERCISES: dict[str, Exercise] = {}


def exercise(exercise_id: str, *, hint: str, needs: Sequence[str] = ("scorer",),
             compare: Callable[[Any, Any], str | None] | None = None) -> Callable:
    """Register the decorated function as the expected value of ``exercise_id`` ("NN.k")."""
    if not _ID.match(exercise_id):
        raise ValueError(f"exercise ids look like '04.2' (notebook number, dot, exercise number); got {exercise_id!r}")

    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        if exercise_id in EXERCISES:
            raise ValueError(f"exercise {exercise_id} is registered twice")
        EXERCISES[exercise_id] = Exercise(exercise_id, function, compare or close(), hint, tuple(needs))
        return function
    return register


def evaluate(exercise_id: str, answer: Any, **context: Any) -> Verdict:
    """Compare ``answer`` with the expected value of ``exercise_id``, computed now from ``context``."""
    if exercise_id not in EXERCISES:
        same_notebook = sorted(k for k in EXERCISES if k.split(".")[0] == str(exercise_id).split(".")[0])
        raise ValueError(f"no exercise {exercise_id!r}; the checks are "
                         f"{', '.join(same_notebook or sorted(EXERCISES))}")
    entry = EXERCISES[exercise_id]
    missing = [name for name in entry.needs if name not in context]
    if missing:
        call = ", ".join(f"{name}={name}" for name in entry.needs)
        raise TypeError(f"check({exercise_id!r}, ...) computes its answer from {', '.join(entry.needs)}: "
                        f"call check({exercise_id!r}, answer, {call}) with the notebook's own objects")
    if answer is None or answer is Ellipsis:
        return Verdict(exercise_id, "not answered",
                       f"{exercise_id}: not answered yet. Put your answer in `answer` and run the cell again.")
    try:
        expected = entry.expected(**{name: context[name] for name in entry.needs})
    except (AttributeError, TypeError, ValueError) as error:
        passed = ", ".join(f"{name}={type(context[name]).__name__}" for name in entry.needs)
        return Verdict(exercise_id, "not yet",
                       f"{exercise_id}: not yet (the check could not use what was passed: {passed}; {error}). "
                       "Pass the notebook's own objects, e.g. a Template with one {mask}, as the exercise cell does.")
    try:
        reason = entry.compare(answer, expected)
    except (AttributeError, TypeError, ValueError):
        reason = f"the answer should be of the same kind as the exercise asks for; got {type(answer).__name__}"
    if reason is None:
        return Verdict(exercise_id, "right", f"{exercise_id}: right. Well done.")
    because = f" ({reason})" if reason else ""
    return Verdict(exercise_id, "not yet", f"{exercise_id}: not yet{because}. Hint: {entry.hint}")


def check(exercise_id: str, answer: Any, **context: Any) -> None:
    """Print whether ``answer`` is right (never the expected value).

    ``answer=None`` (or ``...``) prints "not answered yet". ``context`` passes what the
    expected value is computed from, e.g. ``scorer=scorer``; the error for a missing one says
    which. Returns nothing, so a notebook shows the message once; ``evaluate`` returns the
    ``Verdict``.
    """
    print(evaluate(exercise_id, answer, **context).message)


# ----------------------------------------------------------------------------- shared computations

def _mask_distribution(scorer, sentence: str) -> torch.Tensor:
    """The model's probabilities over the vocabulary at the single [MASK] of ``sentence``, shape (vocab,)."""
    model, tokenizer = scorer.model, scorer.tokenizer
    # the exercises write BERT's "[MASK]"; RoBERTa-style tokenizers call it "<mask>"
    encoded = tokenizer(sentence.replace("[MASK]", tokenizer.mask_token), return_tensors="pt").to(model.device)
    where = (encoded["input_ids"][0] == tokenizer.mask_token_id).nonzero()
    if len(where) != 1:
        raise ValueError(f"the sentence needs exactly one {tokenizer.mask_token}; got {sentence!r}")
    with torch.inference_mode():
        logits = model(**encoded).logits[0, where.item()]
    return logits.float().softmax(-1).cpu()


def _margins(scorer, template, texts: Sequence[str], positive: str = "great", negative: str = "terrible") -> np.ndarray:
    """log P(positive word) - log P(negative word) at the template's blank, per text, shape (n,)."""
    # bound like a label word: " great" is one id in a byte-level BPE vocabulary, "great" another
    ids = [i for (i,) in Verbalizer({"positive": [positive], "negative": [negative]}).bind(scorer.tokenizer).word_ids]
    prompts = [template.fill(t, scorer.tokenizer.mask_token) for t in texts]
    logprobs = scorer.label_logprobs(prompts, ids)
    return logprobs[:, 0] - logprobs[:, 1]


# ----------------------------------------------------------------------------- notebook 1

WORD_PIECE_SENTENCE = "the capital of france is [MASK]."
LEAST_SURE = ["the [MASK] barked at the mailman.", "i had a [MASK] day.", "water boils at one hundred [MASK]."]


@exercise("01.1", hint="apply softmax to the logits at the [MASK] position of "
          f"'{WORD_PIECE_SENTENCE}' and add up the probabilities of every vocabulary entry that starts with '##' "
          "(in a byte-level BPE "
          "vocabulary: every entry without the word-start mark 'Ġ'; helpers.template.continuation_ids lists them).")
def _word_piece_share(scorer) -> float:
    pieces = continuation_ids(scorer.tokenizer)
    return float(_mask_distribution(scorer, WORD_PIECE_SENTENCE)[pieces].sum())


@exercise("01.2", compare=same_text,
          hint="add up the five largest probabilities at each blank (scorer.top_k(sentence, k=5)); the least sure "
               "blank has the smallest sum. Answer with the sentence itself.")
def _least_sure(scorer) -> str:
    masses = [float(_mask_distribution(scorer, s).topk(5).values.sum()) for s in LEAST_SURE]
    return LEAST_SURE[int(np.argmin(masses))]


# ----------------------------------------------------------------------------- notebook 2

@exercise("02.1", needs=("scorer", "template"), compare=close(rel=0, abs_=0.01),
          hint="fill your template with each of the 40 written reviews, compare log P(great) with log P(terrible) at "
               "the blank, and count how often the larger one matches the label.")
def _template_accuracy(scorer, template) -> float:
    from .examples import written_reviews

    reviews = written_reviews()
    return float(((_margins(scorer, template, reviews.texts) > 0) == reviews.labels).mean())


@exercise("02.2", needs=("scorer", "templates"), compare=same_text,
          hint="for each review take the largest minus the smallest margin over the templates; answer with the text "
               "of the review where that spread is largest.")
def _most_disputed_review(scorer, templates) -> str:
    from .examples import written_reviews

    reviews = written_reviews()
    table = np.stack([_margins(scorer, t, reviews.texts) for t in dict(templates).values()])
    return reviews.texts[int((table.max(axis=0) - table.min(axis=0)).argmax())]


# ----------------------------------------------------------------------------- notebook 3

PET_TEMPLATE = "{text} All in all, it was {mask}."


def _accuracy(probs: np.ndarray, labels: Sequence[int]) -> float:
    return float((probs.argmax(axis=1) == np.asarray(labels)).mean())


@exercise("03.1", needs=("scorer", "verbalizer", "texts", "labels"), compare=close(rel=0, abs_=0.01),
          hint=f"classify the sentences with Template({PET_TEMPLATE!r}) and your verbalizer, once as is and once with "
               "calibrate=True; answer (accuracy without, accuracy with), each between 0 and 1.")
def _pet_accuracies(scorer, verbalizer, texts, labels) -> tuple[float, float]:
    from .template import Template

    template = Template(PET_TEMPLATE)
    return tuple(_accuracy(scorer.classify(list(texts), template, verbalizer, calibrate=c), labels)
                 for c in (None, True))


@exercise("03.2", needs=("scorer", "template", "verbalizer", "texts"), compare=same_text,
          hint="compare P(positive) before and after calibrate=True for each sentence; the answer is the sentence "
               "whose probability changes most, copied as it is written.")
def _moves_most(scorer, template, verbalizer, texts) -> str:
    texts = list(texts)
    before = scorer.classify(texts, template, verbalizer)
    after = scorer.classify(texts, template, verbalizer, calibrate=True)
    return texts[int(np.abs(after - before).max(axis=1).argmax())]


# ----------------------------------------------------------------------------- notebook 4

@exercise("04.1", needs=("scorer", "template", "verbalizer", "texts", "labels"), compare=close(rel=0, abs_=0.005),
          hint="classify the SST-2 sentences with your template and the verbalizer, take argmax per row and compare "
               "with the labels; the answer is the share right, between 0 and 1.")
def _own_template_accuracy(scorer, template, verbalizer, texts, labels) -> float:
    return _accuracy(scorer.classify(list(texts), template, verbalizer), labels)


@exercise("04.3", needs=("scorer", "templates", "verbalizers", "texts", "labels"), compare=same_text,
          hint="for each verbalizer take its accuracies over the templates (a column of the grid) and compute max - "
               "min; answer with the name of the verbalizer whose spread is smallest.")
def _steadiest_verbalizer(scorer, templates, verbalizers, texts, labels) -> str:
    from .verbalizer import Verbalizer

    texts, bound = list(texts), {name: v.bind(scorer.tokenizer) for name, v in dict(verbalizers).items()}
    words = sorted({w for b in bound.values() for w in b.words})
    if len(words) < 2:
        raise ValueError("the verbalizers need at least two label words between them")
    # one pass per template scores every word once; each verbalizer then reads its own columns
    every = Verbalizer({"first": words[:-1], "last": words[-1:]}).bind(scorer.tokenizer)
    accuracies = {name: [] for name in bound}
    for template in dict(templates).values():
        word_lp = scorer.word_logprobs(texts, template, every)
        for name, b in bound.items():
            probs = b.class_probs(word_lp[:, [every.words.index(w) for w in b.words]])
            accuracies[name].append(_accuracy(probs, labels))
    spreads = {name: max(a) - min(a) for name, a in accuracies.items()}
    return min(spreads, key=spreads.get)


# ----------------------------------------------------------------------------- notebook 5

PRECISION_TARGET = 0.6
SPAN_ALONE = "{span} is a {mask}."


def _first_threshold(answer: Any, expected: Any) -> str | None:
    """(threshold, recall) within a small tolerance, or the text "none" when no threshold qualifies."""
    if expected == "none":
        return None if isinstance(answer, str) and _normal(answer) == "none" else ""
    return close(rel=1e-3, abs_=0.005)(answer, expected)


@exercise("05.1", needs=("ner", "sentences", "gold", "grid"), compare=_first_threshold,
          hint=f"score the spans once (ner.score_spans), decode them at each threshold of the grid in order, and "
               f"stop at the first whose micro precision is above {PRECISION_TARGET}; answer (threshold, recall), or "
               "\"none\" if no threshold gets there.")
def _first_precise_threshold(ner, sentences, gold, grid) -> tuple[float, float] | str:
    from .ner import bio_from_entities, decode_spans, entity_prf

    sentences, gold = list(sentences), list(gold)
    scored = ner.score_spans(sentences)
    for threshold in grid:
        tags = [bio_from_entities(len(t), decode_spans(s, threshold, ner.prefer_longer))
                for t, s in zip(sentences, scored)]
        micro = entity_prf(gold, tags)["micro"]
        if micro["precision"] > PRECISION_TARGET:
            return float(threshold), float(micro["recall"])
    return "none"


@exercise("05.2", needs=("scorer", "spans", "label_words"), compare=close(rel=0, abs_=0.005),
          hint=f"run typing_accuracy(scorer, spans, your_words, {SPAN_ALONE!r}) and read the ORG entry of its "
               "recall (report.recall[report.labels.index('ORG')]); a number between 0 and 1.")
def _org_recall(scorer, spans, label_words) -> float:
    from .ner import typing_accuracy

    report = typing_accuracy(scorer, list(spans), label_words, SPAN_ALONE)
    return float(report.recall[report.labels.index("ORG")])


# ----------------------------------------------------------------------------- notebook 6

@exercise("06.1", needs=(), compare=close(rel=1e-3, abs_=1e-3),
          hint="feed CrossEntropyLoss rows of three numbers p_c, each anywhere in [0, 1] on its own, as if they were "
               "logits; the loss is smallest when the gold class has 1 and the others 0, largest the other way round "
               "(gold 0, both others 1). Answer (smallest, largest).")
def _double_softmax_range() -> tuple[float, float]:
    loss = torch.nn.CrossEntropyLoss()
    gold = torch.tensor([0])
    return (loss(torch.tensor([[1.0, 0.0, 0.0]]), gold).item(), loss(torch.tensor([[0.0, 1.0, 1.0]]), gold).item())


@exercise("06.3", needs=("scorer", "verbalizer", "texts", "labels"), compare=close(rel=0, abs_=0.005),
          hint=f"classify the validation sentences with Template({PET_TEMPLATE!r}) on the fine-tuned model (pass its "
               "MaskScorer as scorer=) and the same verbalizer; the answer is the share right, between 0 and 1.")
def _paraphrase_accuracy(scorer, verbalizer, texts, labels) -> float:
    from .template import Template

    return _accuracy(scorer.classify(list(texts), Template(PET_TEMPLATE), verbalizer), labels)


# ----------------------------------------------------------------------------- notebooks 4 and 5 (added)

SHORT_INPUT = 128  # tokens: the length of the default model's training blocks


@exercise("04.2", needs=("scorer", "template", "verbalizer", "texts", "labels"), compare=close(rel=0, abs_=0.005),
          hint=f"make a MaskScorer with max_length={SHORT_INPUT}; with evaluate_classifier(..., calibrate=True) "
               "score the "
               "reviews with the template as it is (truncate='right', the start kept) and with "
               "Template(template.template, truncate='left') (the end kept). Answer (accuracy keeping the start, "
               "accuracy keeping the end).")
def _head_and_tail_accuracy(scorer, template, verbalizer, texts, labels) -> tuple[float, float]:
    import warnings

    from .data_files import LabelledTexts
    from .evaluation import evaluate_classifier
    from .scorer import MaskScorer, TruncationWarning
    from .template import Template

    short = MaskScorer(scorer.model, scorer.tokenizer, batch_size=scorer.batch_size, max_length=SHORT_INPUT,
                       progress=False)
    data = LabelledTexts(list(texts), np.asarray(labels))  # label 0 negative, 1 positive, as SST-2 and IMDB
    accuracies = []
    for side in ("right", "left"):
        with warnings.catch_warnings():  # cutting the reviews is the point of the exercise, not news
            warnings.simplefilter("ignore", TruncationWarning)
            report, _ = evaluate_classifier(short, data, Template(template.template, truncate=side), verbalizer,
                                            calibrate=True)
        accuracies.append(float(report.accuracy))
    return accuracies[0], accuracies[1]


# ----------------------------------------------------------------------------- notebook 7

@exercise("07.1", needs=("scorer", "template", "texts", "labels"), compare=close(rel=0, abs_=0.01),
          hint="fill each training text into the template, take p(great) at [MASK] (exp of the log-probability), "
               "average it over the positive texts and over the negative ones, and subtract the logs: "
               "log P(great | positive) - log P(great | negative).")
def _great_ratio(scorer, template, texts, labels) -> float:
    great = scorer.tokenizer.convert_tokens_to_ids("great")
    prompts = template.encode_batch(scorer.tokenizer, list(texts), scorer.max_length)
    rows = scorer.score_masks(prompts, lambda lp: lp[:, [great]].exp())
    p = np.concatenate([r[0] for r in rows])[:, 0]
    labels = np.asarray(labels)
    return float(np.log(p[labels == 1].mean()) - np.log(p[labels == 0].mean()))


@exercise("07.2", needs=("prompt",), compare=close(rel=0, abs_=0.5),
          hint="each vector has as many numbers as the model's hidden size (prompt.vectors.shape), and a 32-bit "
               "float takes 4 bytes; multiply the three.")
def _soft_prompt_bytes(prompt) -> int:
    return int(prompt.vectors.numel() * prompt.vectors.element_size())


# ----------------------------------------------------------------------------- notebooks 1-3 (more)

PIECE_AFTER_FRAGMENT = "the movie was un[MASK]."


@exercise("01.3", needs=(), compare=close(rel=0, abs_=0.03),
          hint="run bert_masking on 10,000 token ids; answer (share picked, share of the picked that became [MASK], "
               "share unchanged, share random), each between 0 and 1.")
def _masking_rates() -> tuple[float, float, float, float]:
    return (0.15, 0.80, 0.10, 0.10)


@exercise("01.4", hint=f"sum the probabilities of every '##' entry of the vocabulary at the blank of "
          f"'{PIECE_AFTER_FRAGMENT}', as in exercise 1.")
def _piece_share_after_fragment(scorer) -> float:
    pieces = [i for token, i in scorer.tokenizer.get_vocab().items() if token.startswith("##")]
    return float(_mask_distribution(scorer, PIECE_AFTER_FRAGMENT)[pieces].sum())


@exercise("02.3", needs=("scorer", "text"), compare=close(rel=0, abs_=0.01),
          hint="encode the review with Template('{text} It was {mask}.', truncate=side) and max_length=128 for side "
               "'right' and 'left', score log P(great) - log P(terrible) at the blank; answer (right, left).")
def _truncation_margins(scorer, text) -> tuple[float, float]:
    from .template import Template

    tokenizer, margins = scorer.tokenizer, []
    for side in ("right", "left"):
        cut = Template("{text} It was {mask}.", truncate=side).encode(tokenizer, text, max_length=128)
        prompt = tokenizer.decode(cut.ids[1:-1])  # without the special tokens the scorer adds again
        logprobs = scorer.label_logprobs([prompt], tokenizer.convert_tokens_to_ids(["great", "terrible"]))
        margins.append(float(logprobs[0, 0] - logprobs[0, 1]))
    return tuple(margins)


@exercise("02.4", compare=close(rel=0, abs_=0.01),
          hint="fill Template('Just {mask}! {text}') with each of the 40 written reviews and count how often "
               "log P(great) > log P(terrible) matches the label.")
def _pet_order_accuracy(scorer) -> float:
    from .template import Template

    return _template_accuracy(scorer, Template("Just {mask}! {text}"))


@exercise("03.3", needs=("scorer", "template", "verbalizer"), compare=close(rel=0, abs_=0.005),
          hint="call scorer.content_free_probs(template, verbalizer, ['nothing', 'the']) and answer its P(positive), "
               "the second number.")
def _content_free_share(scorer, template, verbalizer) -> float:
    return float(scorer.content_free_probs(template, verbalizer, ["nothing", "the"])[1])


@exercise("03.4", needs=("scorer", "template", "verbalizer", "texts"), compare=close(rel=0, abs_=0.5),
          hint="classify the sentences with and without calibrate=True and count those whose argmax differs; "
               "with two classes they are the ones whose P(positive) lies between 0.5 and the content-free share.")
def _decisions_changed(scorer, template, verbalizer, texts) -> int:
    texts = list(texts)
    before = scorer.classify(texts, template, verbalizer).argmax(1)
    return int((before != scorer.classify(texts, template, verbalizer, calibrate=True).argmax(1)).sum())
