"""helpers.exercises on the tiny random BERT: right / not yet / not answered, never the answer itself."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from transformers import BertForMaskedLM

from helpers import MaskScorer, Template, Verbalizer
from helpers.exercises import EXERCISES, LEAST_SURE, WORD_PIECE_SENTENCE, check, evaluate, exercise


def piece_share_via_top_k(scorer) -> float:
    """The ## share at the blank, by another road than the module's: every token from top_k."""
    everything = scorer.top_k(WORD_PIECE_SENTENCE, k=len(scorer.tokenizer))[0]
    return sum(p for token, p in everything if token.startswith("##"))


def spellings(value: float) -> list[str]:
    return [f"{value:.{d}f}" for d in range(2, 7)] + [repr(value)]


def test_a_right_number_passes_and_a_wrong_one_gets_a_hint_without_the_answer(scorer, capsys):
    share = piece_share_via_top_k(scorer)
    assert share > 0  # the tiny vocabulary has two ## pieces
    check("01.1", share * 1.001, scorer=scorer)
    assert capsys.readouterr().out == "01.1: right. Well done.\n"
    assert check("01.1", share * 1.5, scorer=scorer) is None
    printed = capsys.readouterr().out
    assert printed.startswith("01.1: not yet") and "Hint:" in printed
    assert not any(s in printed for s in spellings(share))


def test_none_and_ellipsis_are_not_answered_and_compute_nothing(scorer, capsys):
    for empty in (None, ...):
        assert evaluate("01.1", empty, scorer=scorer).status == "not answered"
    check("01.2", None, scorer=scorer)
    assert "not answered yet" in capsys.readouterr().out


def test_the_expected_value_follows_the_model_in_use(scorer, tiny_model, tiny_tokenizer):
    retrained = BertForMaskedLM(tiny_model.config)
    retrained.load_state_dict(tiny_model.state_dict())
    pieces = [i for t, i in tiny_tokenizer.get_vocab().items() if t.startswith("##")]
    with torch.no_grad():  # "retraining": the output layer now favours word pieces
        retrained.cls.predictions.bias[pieces] += 3.0
    other = MaskScorer(retrained.eval(), tiny_tokenizer, progress=False)
    mine, theirs = piece_share_via_top_k(scorer), piece_share_via_top_k(other)
    assert theirs > 5 * mine
    assert evaluate("01.1", theirs, scorer=other).right
    assert not evaluate("01.1", theirs, scorer=scorer).right


def test_least_sure_blank_is_the_sentence_with_the_smallest_top5_mass(scorer):
    masses = [sum(p for _, p in scorer.top_k(s, k=5)[0]) for s in LEAST_SURE]
    least, most = LEAST_SURE[int(np.argmin(masses))], LEAST_SURE[int(np.argmax(masses))]
    assert evaluate("01.2", "  " + least.upper() + " ", scorer=scorer).right  # case and spaces do not matter
    verdict = evaluate("01.2", most, scorer=scorer)
    assert verdict.status == "not yet" and least not in verdict.message


def test_a_template_accuracy_is_checked_against_a_fresh_run(scorer):
    from helpers.examples import written_reviews

    template = Template("{text} It was {mask}.")
    reviews = written_reviews()
    verbalizer = Verbalizer({"negative": ["terrible"], "positive": ["great"]})
    accuracy = float((scorer.classify(reviews.texts, template, verbalizer).argmax(1) == reviews.labels).mean())
    assert evaluate("02.1", accuracy, scorer=scorer, template=template).right
    assert not evaluate("02.1", accuracy + 0.05, scorer=scorer, template=template).right


def test_two_numbers_must_come_as_a_pair_in_order(scorer):
    texts = ["the film was great .", "the film was awful .", "i liked it .", "i hated it ."]
    labels = [1, 0, 1, 0]
    verbalizer = Verbalizer({"negative": ["bad", "terrible"], "positive": ["good", "great"]})
    template = Template("{text} All in all, it was {mask}.")
    raw = float((scorer.classify(texts, template, verbalizer).argmax(1) == labels).mean())
    calibrated = float((scorer.classify(texts, template, verbalizer, calibrate=True).argmax(1) == labels).mean())
    context = dict(scorer=scorer, verbalizer=verbalizer, texts=texts, labels=labels)
    assert evaluate("03.1", (raw, calibrated), **context).right
    single = evaluate("03.1", raw, **context)
    assert single.status == "not yet" and "2 numbers" in single.message
    if raw != calibrated:
        assert not evaluate("03.1", (calibrated, raw), **context).right


def test_a_wrong_type_is_not_yet_with_what_to_give(scorer):
    verdict = evaluate("01.1", "a lot", scorer=scorer)
    assert verdict.status == "not yet" and "one number" in verdict.message
    assert evaluate("01.2", 2, scorer=scorer).status == "not yet"
    assert evaluate("01.1", True, scorer=scorer).status == "not yet"  # a bool is not a probability


def test_missing_context_and_unknown_ids_say_what_to_do(scorer):
    with pytest.raises(TypeError, match=re.escape("check('02.2', answer, scorer=scorer, templates=templates)")):
        check("02.2", "x", scorer=scorer)
    with pytest.raises(ValueError, match="01.1, 01.2"):
        check("01.9", 1.0, scorer=scorer)
    with pytest.raises(ValueError, match="look like '04.2'"):
        exercise("4.2", hint="")


def test_every_registered_exercise_has_a_hint_and_a_notebook_number():
    assert EXERCISES
    for exercise_id, entry in EXERCISES.items():
        assert re.fullmatch(r"\d\d\.\d+", exercise_id) and entry.hint.strip()


def test_a_check_that_needs_no_model_compares_a_pair_of_numbers(capsys):
    import math

    low, high = math.log(1 + 2 / math.e), math.log(1 + 2 * math.e)  # the closed form, not the module's torch route
    check("06.1", (low, high))
    check("06.1", (high, low))
    right, wrong = capsys.readouterr().out.splitlines()
    assert right == "06.1: right. Well done." and wrong.startswith("06.1: not yet")
    assert f"{low:.2f}" not in wrong and f"{high:.2f}" not in wrong


SENTENCES = ["the film was great .", "the film was awful .", "i liked it .", "i hated it .", "it was fine .",
             "this movie was bad .", "a good story !", "not a fan ."]
LABELS = [1, 0, 1, 0, 1, 0, 1, 0]


def test_the_sentence_that_moves_most_under_calibration(scorer):
    from helpers import calibrate_probs

    template = Template("{text} It was {mask}.")
    verbalizer = Verbalizer({"negative": ["bad", "terrible"], "positive": ["good", "great"]})
    raw = scorer.classify(SENTENCES, template, verbalizer)
    moved = np.abs(calibrate_probs(raw, scorer.content_free_probs(template, verbalizer)) - raw)[:, 1]
    context = dict(scorer=scorer, template=template, verbalizer=verbalizer, texts=SENTENCES)
    assert evaluate("03.2", SENTENCES[int(moved.argmax())], **context).right
    assert not evaluate("03.2", SENTENCES[int(moved.argmin())], **context).right


def test_the_steadiest_verbalizer_over_templates(scorer):
    templates = {"a": Template("{text} It was {mask}."), "b": Template("{mask} ! {text}"),
                 "c": Template("{text} really {mask} .")}
    verbalizers = {"shaky": Verbalizer({"negative": ["terrible"], "positive": ["fine"]}),
                   "steady": Verbalizer({"negative": ["bad"], "positive": ["good"]})}
    spreads = {}
    for name, v in verbalizers.items():  # one classify per prompt: not the module's shared pass
        accuracies = [float((scorer.classify(SENTENCES, t, v).argmax(1) == LABELS).mean()) for t in templates.values()]
        spreads[name] = max(accuracies) - min(accuracies)
    assert spreads["steady"] < spreads["shaky"], spreads  # the tiny model's prompts differ enough to tell
    context = dict(scorer=scorer, templates=templates, verbalizers=verbalizers, texts=SENTENCES, labels=LABELS)
    assert evaluate("04.3", "steady", **context).right
    assert not evaluate("04.3", "shaky", **context).right


NER_TYPES = {"PER": ["person"], "LOC": ["city", "place"], "ORG": ["film", "movie"]}
NER_TOKENS = [["John", "went", "to", "Paris", "."], ["I", "liked", "the", "film", "in", "Paris", "."],
              ["John", "hated", "the", "city", "."]]


def test_the_first_threshold_with_enough_precision_or_none(scorer):
    from helpers.ner import ZeroShotNER, entity_prf

    ner = ZeroShotNER(scorer, NER_TYPES, none_words=None)
    ner.threshold = 0.01
    gold = ner.predict(NER_TOKENS)  # gold that agrees with the model at a low threshold...
    assert gold[1][0] == "O"
    gold[1][0] = "B-PER"  # ...plus an entity it misses, so recall is below 1
    grid = [0.01, 0.5, 1e6]

    def by_predict(threshold):  # another road than the module's: predict() with the threshold set
        ner.threshold = threshold
        return entity_prf(gold, ner.predict(NER_TOKENS))["micro"]

    first = next(th for th in grid if by_predict(th)["precision"] > 0.6)
    recall = by_predict(first)["recall"]
    context = dict(ner=ner, sentences=NER_TOKENS, gold=gold)
    assert 0 < recall < 1
    assert evaluate("05.1", (first, recall), grid=grid, **context).right
    assert not evaluate("05.1", (first, recall + 0.2), grid=grid, **context).right
    assert evaluate("05.1", "None ", grid=[1e6], **context).right  # "none": no threshold gets there
    assert not evaluate("05.1", (1e6, 0.0), grid=[1e6], **context).right


def test_org_recall_of_ones_own_label_words(scorer):
    from helpers.data import TaggedSentence
    from helpers.ner import gold_spans

    sentences = [TaggedSentence(["John", "went", "to", "Paris", "."], ["B-PER", "O", "O", "B-LOC", "O"]),
                 TaggedSentence(["The", "film", "visit", "Paris", "."], ["O", "B-ORG", "O", "B-LOC", "O"]),
                 TaggedSentence(["John", "liked", "the", "movie", "."], ["B-PER", "O", "O", "B-ORG", "O"])]
    spans = gold_spans(sentences)
    words = {"PER": ["person"], "LOC": ["city", "place"], "ORG": ["film"]}
    verbalizer = Verbalizer(words, aggregate="sum_prob")
    probs = scorer.classify([{"span": g.span} for g in spans], Template("{span} is a {mask}."), verbalizer)
    org = [i for i, g in enumerate(spans) if g.type == "ORG"]
    recall = float(np.mean([verbalizer.labels[int(probs[i].argmax())] == "ORG" for i in org]))
    context = dict(scorer=scorer, spans=spans, label_words=words)
    assert evaluate("05.2", recall, **context).right
    assert not evaluate("05.2", 1.0 - recall if recall != 0.5 else 0.9, **context).right


# ---- notebooks 4 and 5 (added) ------------------------------------------------------------
def test_head_and_tail_of_long_texts_at_128_tokens(scorer):
    long_texts = [" ".join(["great"] * 150 + ["terrible"] * 150), " ".join(["terrible"] * 150 + ["great"] * 150),
                  " ".join(["good"] * 200 + ["bad"] * 100)]
    labels = np.array([1, 0, 1])
    template = Template("It was {mask}. {text}")
    verbalizer = Verbalizer({"negative": ["terrible"], "positive": ["great"]})
    short = MaskScorer(scorer.model, scorer.tokenizer, batch_size=2, max_length=128, progress=False)
    expected = []
    for side in ("right", "left"):  # by hand: cut to 128 tokens on that side, calibrate, argmax
        probs = short.classify(long_texts, Template(template.template, truncate=side), verbalizer, calibrate=True)
        expected.append(float((probs.argmax(1) == labels).mean()))
    context = dict(scorer=scorer, template=template, verbalizer=verbalizer, texts=long_texts, labels=labels)
    assert evaluate("04.2", tuple(expected), **context).right
    assert not evaluate("04.2", (expected[0] + 0.34, expected[1]), **context).right
    assert not evaluate("04.2", expected[0], **context).right  # one number where a pair is asked


def test_objects_of_the_wrong_kind_get_a_message_not_an_attribute_error(scorer, capsys):
    # a plain string where a Template is expected, and a template text without a mask
    for template in ["{text} It was {mask}.", "{text} It was good.", None]:
        verdict = evaluate("02.1", 0.5, scorer=scorer, template=template)
        assert verdict.status == "not yet" and "could not use what was passed" in verdict.message
        assert "template=" in verdict.message
    verdict = evaluate("02.1", 0.5, scorer=scorer, template=Template("{text} It was {mask}."))
    assert "could not use" not in verdict.message
    # an answer of the wrong kind for a pair of numbers, and a list where a text is expected
    verdict = evaluate("02.2", ["a"], scorer=scorer, templates={"a": Template("{text} {mask}.")})
    assert verdict.status == "not yet" and "a text" in verdict.message
    check("01.1", "0.1", scorer=scorer)
    assert "one number" in capsys.readouterr().out
