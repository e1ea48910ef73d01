"""helpers.ner: candidate spans, decoding, BIO round trips, entity F1, gold spans, typing
accuracy and the zero-shot pipeline on the tiny model."""

import numpy as np
import pytest

from helpers import TaggedSentence, Template, VerbalizerError
from helpers.calibration import calibrate_probs
from helpers.ner import (
    ScoredSpan,
    ZeroShotNER,
    bio_from_entities,
    candidate_spans,
    capitalisation_heuristic,
    casing_is_informative,
    decode_spans,
    entities_from_bio,
    entity_prf,
    gold_spans,
    span_text,
    typing_accuracy,
)

TOKENS = ["John", "went", "to", "New", "York", "City", "."]


# ---- candidate spans --------------------------------------------------------------------
def test_capitalised_runs_and_their_sub_spans():
    tokens = "John Smith met the Bank of England in Paris .".split()
    spans = candidate_spans(tokens, max_span_len=2)
    # runs: John Smith (0,2), Bank of England (4,7, kept whole), Paris (8,9); sub-spans of up to
    # 2 tokens start and end on a capitalised token, so "Bank of" and "of England" are not
    assert spans == [(0, 1), (0, 2), (1, 2), (4, 5), (4, 7), (6, 7), (8, 9)]


def test_a_capitalised_function_word_is_not_a_name():
    spans = candidate_spans("The Hague said it would .".split(), max_span_len=3)
    assert spans == [(1, 2)]


def test_headline_in_capitals_gives_every_content_ngram():
    tokens = "JAPAN GET LUCKY WIN , CHINA IN SURPRISE DEFEAT .".split()
    assert not casing_is_informative(tokens)
    spans = candidate_spans(tokens, max_span_len=2)
    assert (0, 1) in spans and (5, 6) in spans and (0, 2) in spans
    assert (3, 5) not in spans  # "WIN ," crosses punctuation
    assert (5, 7) not in spans and (6, 7) not in spans  # "IN" is a function word at an end


def test_lower_case_tweet_with_mention_and_hashtag():
    tokens = "just landed in new york with @united #NewYork http://t.co/x1".split()
    assert not casing_is_informative(tokens)
    spans = candidate_spans(tokens, max_span_len=2)
    assert {(3, 5), (7, 8)} <= set(spans) and (6, 7) not in spans  # the hashtag, not the mention
    assert (6, 7) in candidate_spans(tokens, 2, mentions=True)
    assert (2, 3) not in spans  # "in"
    assert not any(e == 9 for _, e in spans)  # the link
    assert (1, 4) not in candidate_spans(tokens, 3)  # "landed in new": "in" never sits inside here
    assert (6, 8) not in candidate_spans(tokens, 3, mentions=True)  # a mention or hashtag stands alone
    assert (2, 5) in candidate_spans("i love bank of america".split(), 3)
    assert span_text(tokens[6:8]) == "united New York"


def test_mixed_case_tweet_mentions_only_when_asked():
    tokens = "Great day with @jsmith at Google today #GoogleIO".split()
    assert casing_is_informative(tokens)
    assert candidate_spans(tokens) == [(0, 1), (5, 6), (7, 8)]
    assert candidate_spans(tokens, mentions=True) == [(0, 1), (3, 4), (5, 6), (7, 8)]


def test_older_filters_and_bad_arguments():
    assert candidate_spans(["a", "b", "c"], 2, "none") == [(0, 1), (0, 2), (1, 2), (1, 3), (2, 3)]
    assert candidate_spans(TOKENS, 3, "capitalized") == [(0, 1), (3, 4), (3, 5), (3, 6), (4, 5), (4, 6), (5, 6)]
    with pytest.raises(ValueError, match="span_filter"):
        candidate_spans(TOKENS, 3, "proper_nouns")
    with pytest.raises(ValueError, match="at least 1"):
        candidate_spans(TOKENS, 0)


# ---- decoding and evaluation ------------------------------------------------------------
def test_overlaps_resolved_best_first():
    spans = [ScoredSpan(3, 5, "LOC", 0.9, 0.30), ScoredSpan(3, 6, "LOC", 0.8, 0.50),
             ScoredSpan(4, 6, "ORG", 0.7, 0.40), ScoredSpan(0, 1, "PER", 0.9, 0.20),
             ScoredSpan(5, 6, "LOC", 0.6, 0.05)]
    assert decode_spans(spans) == [(0, 1, "PER"), (3, 6, "LOC")]
    assert decode_spans(spans, threshold=0.25) == [(3, 6, "LOC")]
    assert decode_spans([ScoredSpan(0, 1, "none", 0.9, 0.9)]) == []


def test_full_name_preferred_when_close():
    whole, part = ScoredSpan(0, 3, "ORG", 0.9, 2.0), ScoredSpan(0, 2, "LOC", 0.9, 5.0)
    assert decode_spans([whole, part]) == [(0, 2, "LOC")]
    # one extra token: 2.0 * 3 = 6 > 5, the whole wins; a part 10x better still wins
    assert decode_spans([whole, part], prefer_longer=3.0) == [(0, 3, "ORG")]
    assert decode_spans([whole, ScoredSpan(0, 2, "LOC", 0.9, 20.0)], prefer_longer=3.0) == [(0, 2, "LOC")]
    with pytest.raises(ValueError, match="prefer_longer"):
        decode_spans([whole], prefer_longer=0.5)


def test_bio_round_trip():
    entities = [(0, 1, "PER"), (3, 6, "LOC")]
    tags = bio_from_entities(len(TOKENS), entities)
    assert tags == ["B-PER", "O", "O", "B-LOC", "I-LOC", "I-LOC", "O"]
    assert entities_from_bio(tags) == entities
    with pytest.raises(ValueError, match="overlaps"):
        bio_from_entities(4, [(0, 2, "PER"), (1, 3, "LOC")])


def test_bio_reading_follows_conlleval_for_broken_sequences():
    assert entities_from_bio(["I-PER", "I-PER", "O"]) == [(0, 2, "PER")]
    assert entities_from_bio(["B-PER", "I-LOC"]) == [(0, 1, "PER"), (1, 2, "LOC")]
    assert entities_from_bio(["B-PER", "B-PER"]) == [(0, 1, "PER"), (1, 2, "PER")]


def test_entity_f1_by_hand():
    gold = [["B-PER", "O", "B-LOC", "I-LOC"], ["B-ORG", "O"]]
    pred = [["B-PER", "O", "B-LOC", "O"], ["B-ORG", "B-PER"]]
    scores = entity_prf(gold, pred)
    # exact matches: PER (0,1) and ORG; LOC is cut short; an extra PER is predicted
    assert scores["micro"]["precision"] == pytest.approx(2 / 4)
    assert scores["micro"]["recall"] == pytest.approx(2 / 3)
    assert scores["micro"]["f1"] == pytest.approx(2 * (1 / 2) * (2 / 3) / (1 / 2 + 2 / 3))
    assert scores["PER"] == {"precision": 0.5, "recall": 1.0, "f1": pytest.approx(2 / 3), "gold": 1, "predicted": 2}
    assert scores["LOC"]["f1"] == 0.0


def test_entity_f1_agrees_with_seqeval_when_installed():
    seqeval = pytest.importorskip("seqeval.metrics")
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O", "B-MISC"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "O", "O"]]
    ours = entity_prf(gold, pred)["micro"]
    assert ours["f1"] == pytest.approx(seqeval.f1_score(gold, pred))
    assert ours["precision"] == pytest.approx(seqeval.precision_score(gold, pred))


def test_capitalisation_heuristic_tags_maximal_runs():
    tokens = "He met John Smith in New York .".split()
    assert capitalisation_heuristic(tokens, "LOC") == ["B-LOC", "O", "B-LOC", "I-LOC", "O", "B-LOC", "I-LOC", "O"]


# ---- gold spans and typing accuracy -----------------------------------------------------
SENTENCES = [TaggedSentence(["john", "went", "to", "paris"], ["B-PER", "O", "O", "B-LOC"]),
             TaggedSentence(["the", "city", "of", "paris", "john"], ["O", "O", "O", "B-LOC", "B-PER"]),
             TaggedSentence(["visit", "paris", "city"], ["O", "B-LOC", "I-LOC"])]


def test_gold_spans_in_order_and_by_type():
    spans = gold_spans(SENTENCES)
    assert [(g.span, g.type) for g in spans] == [("john", "PER"), ("paris", "LOC"), ("paris", "LOC"),
                                                 ("john", "PER"), ("paris city", "LOC")]
    assert spans[1].sentence == "john went to paris"
    assert spans[4].as_input() == {"sentence": "visit paris city", "span": "paris city"}
    assert [g.span for g in gold_spans(SENTENCES, ["PER"])] == ["john", "john"]
    with pytest.raises(ValueError, match="ORG"):
        gold_spans(SENTENCES, ["PER", "ORG"])
    with pytest.raises(TypeError, match="list of type names"):
        gold_spans(SENTENCES, "PER")


def test_typing_accuracy_counts_each_span_once_by_its_type(scorer):
    spans = gold_spans(SENTENCES)
    words = {"PER": ["person"], "LOC": ["place", "city"]}
    report = typing_accuracy(scorer, spans, words, template="{sentence} {span} is a {mask}.")
    assert report.labels == ("PER", "LOC")
    assert report.confusion.sum(axis=1).tolist() == [2, 3]  # rows are the true types
    probs = scorer.classify([g.as_input() for g in spans], Template("{sentence} {span} is a {mask}."),
                            __import__("helpers").Verbalizer(words, aggregate="sum_prob"))
    assert report.accuracy == pytest.approx(np.mean(probs.argmax(1) == np.array([0, 1, 1, 0, 1])))
    with pytest.raises(ValueError, match="no label words"):
        typing_accuracy(scorer, spans, {"PER": ["person"], "ORG": ["city"]})


# ---- the pipeline on the tiny model -----------------------------------------------------
TINY_TYPES = {"PERSON": ["person"], "PLACE": ["place", "city"]}
TINY_TYPES_LIST = list(TINY_TYPES)


def test_calibration_divides_by_the_content_free_probabilities(scorer):
    template = Template("{sentence} {span} is a {mask}.")
    inputs = [{"sentence": "john went to paris", "span": "paris"}, {"sentence": "john went to paris", "span": "john"}]
    raw = ZeroShotNER(scorer, TINY_TYPES, templates=[template], none_words=["movie"], calibrate=False)
    calibrated = ZeroShotNER(scorer, TINY_TYPES, templates=[template], none_words=["movie"], calibrate=True)
    free = scorer.content_free_probs(template, raw.bound)
    expected = calibrate_probs(np.exp(raw.class_logprobs(inputs)), free)
    assert np.exp(calibrated.class_logprobs(inputs)) == pytest.approx(expected, rel=1e-6)
    assert raw.verbalizer.labels == ("PERSON", "PLACE", "none")


def test_templates_are_averaged_in_log_space(scorer):
    inputs = [{"sentence": "john went to paris", "span": "paris"}, {"sentence": "visit the city", "span": "city"}]
    a, b = "{span} is a {mask}.", "{sentence} {span} is a {mask}."
    both = ZeroShotNER(scorer, TINY_TYPES, templates=[a, b], none_words=["movie"]).class_logprobs(inputs)
    one = [ZeroShotNER(scorer, TINY_TYPES, templates=[t], none_words=["movie"]).class_logprobs(inputs) for t in (a, b)]
    assert both == pytest.approx((one[0] + one[1]) / 2)


def test_split_label_words_are_length_normalised(scorer):
    types = {"GOOD": ["fantastic"], "PLACE": ["city"]}  # fantastic = fan ##tastic
    ner = ZeroShotNER(scorer, types, templates=["{span} is a {mask}."], none_words=None, calibrate=False)
    inputs = [{"span": "paris"}, {"span": "john"}]
    word_lp = scorer.word_logprobs(inputs, ner.templates[0], ner.bound) / np.array([2, 1])
    expected = word_lp - np.log(np.exp(word_lp).sum(axis=1, keepdims=True))
    assert ner.class_logprobs(inputs) == pytest.approx(expected)


def test_zero_shot_ner_end_to_end_on_any_type_set(scorer):
    ner = ZeroShotNER(scorer, TINY_TYPES, none_words=["movie", "film"], threshold=0.0, max_span_len=2)
    sentences = [["John", "went", "to", "Paris", "."], ["the", "movie", "was", "great"]]
    tags = ner.predict(sentences)
    assert [len(t) for t in tags] == [5, 4]
    assert {t[2:] for t in tags[0] if t != "O"} <= {"PERSON", "PLACE"}
    scored = ner.score_spans(sentences)
    assert [(s.start, s.end) for s in scored[0]] == [(0, 1), (3, 4)]
    # threshold 0 keeps every scored span that does not overlap a better one
    assert len(entities_from_bio(tags[0])) == 2
    assert all(s.score > 0 and 0.5 <= s.type_prob <= 1 for s in scored[0])
    # the score is P(any type) / (k P(none)) with k = 2 types
    p = np.exp(ner.class_logprobs([{"sentence": "John went to Paris .", "span": w} for w in ("John", "Paris")]))
    assert [s.score for s in scored[0]] == pytest.approx((p[:, 0] + p[:, 1]) / (2 * p[:, 2]))
    assert [s.type for s in scored[0]] == [TINY_TYPES_LIST[i] for i in p[:, :2].argmax(axis=1)]
    strict = ZeroShotNER(scorer, TINY_TYPES, none_words=["movie"], threshold=1e9)
    assert strict.predict(sentences)[0] == ["O"] * 5


def test_without_none_words_the_score_is_the_type_word_mass(scorer):
    ner = ZeroShotNER(scorer, TINY_TYPES, templates=["{span} is a {mask}."], none_words=None, calibrate=False)
    scored = ner.score_spans([["John", "went", "to", "Paris"]])[0]
    word_lp = scorer.word_logprobs([{"span": "John"}, {"span": "Paris"}], ner.templates[0], ner.bound)
    assert [s.score for s in scored] == pytest.approx(np.exp(word_lp).sum(axis=1))


def test_zero_shot_ner_checks_its_arguments(scorer):
    with pytest.raises(ValueError, match="dict of label words"):
        ZeroShotNER(scorer, {})
    with pytest.raises(ValueError, match="reserved"):
        ZeroShotNER(scorer, {"none": ["place"], "PER": ["person"]})
    with pytest.raises(ValueError, match="span"):
        ZeroShotNER(scorer, TINY_TYPES, none_words=["movie"], templates=["{text} is a {mask}."])
    with pytest.raises(ValueError, match="prefer_longer"):
        ZeroShotNER(scorer, TINY_TYPES, none_words=["movie"], prefer_longer=0.5)
    settable = ZeroShotNER(scorer, TINY_TYPES, none_words=["movie"])
    settable.templates = "{span} is a {mask}."
    assert [t.template for t in settable.templates] == ["{span} is a {mask}."]
    with pytest.raises(ValueError, match="span"):
        settable.templates = ["{sentence} is a {mask}."]
    with pytest.raises(VerbalizerError, match="city"):  # one word cannot stand for two types
        ZeroShotNER(scorer, {"PLACE": ["city"], "TOWN": ["city"]}, none_words=["movie"])
    ner = ZeroShotNER(scorer, TINY_TYPES, none_words=["city", "movie"])  # "city" stays a PLACE word
    assert ner.verbalizer.label_words["none"] == ["movie"]
    with pytest.raises(TypeError, match="token lists"):
        ner.predict("John went to Paris")
    with pytest.raises(TypeError, match="sentence 0"):
        ner.predict(["John went to Paris"])


def test_per_type_calibrated_mass_without_none_words(scorer):
    template = Template("{span} is a {mask}.")
    ner = ZeroShotNER(scorer, TINY_TYPES, templates=[template], none_words=None, calibrate=True)
    scored = ner.score_spans([["John", "went", "to", "Paris"]])[0]
    word_p = np.exp(scorer.word_logprobs([{"span": "John"}, {"span": "Paris"}], template, ner.bound))
    free_p = np.exp(scorer.word_logprobs([{"span": x} for x in ("N/A", "", "[MASK]")], template, ner.bound))
    mass = np.stack([word_p[:, 0], word_p[:, 1] + word_p[:, 2]], axis=1)  # PERSON: person; PLACE: place, city
    free = np.stack([free_p[:, 0], free_p[:, 1] + free_p[:, 2]], axis=1).mean(axis=0)
    assert [s.score for s in scored] == pytest.approx((mass / free).max(axis=1))


def test_prompts_are_scored_once_per_pipeline(scorer, monkeypatch):
    ner = ZeroShotNER(scorer, TINY_TYPES, none_words=["movie"])
    sentences = [["John", "went", "to", "Paris"], ["Paris", "is", "fine"]]
    first = ner.score_spans(sentences)
    monkeypatch.setattr(scorer, "word_logprobs", lambda *a, **k: pytest.fail("a prompt was scored twice"))
    ner.calibrate = False
    again = ner.score_spans(sentences)
    assert [s.score for s in again[0]] != pytest.approx([s.score for s in first[0]])
    assert ner.predict(sentences[1:])[0][0] in ("B-PERSON", "B-PLACE", "O")
    ner.use_none, ner.calibrate = False, False  # decide by the type words' mass, none words ignored
    word_p = np.exp(ner._rows[("{span} is a {mask}.", "Paris")])
    assert ner.score_spans([["Paris"]])[0][0].score == pytest.approx(np.sqrt(word_p[:3].sum() * np.exp(
        ner._rows[("{span} is a type of {mask}.", "Paris")][:3]).sum()))  # geometric mean of two templates


def test_use_none_needs_none_words(scorer):
    ner = ZeroShotNER(scorer, TINY_TYPES, none_words=None)
    ner.use_none = True
    with pytest.raises(ValueError, match="none_words"):
        ner.predict([["Paris"]])


# =========================================================================================
# Notebook 5's tools: settings copies, threshold choice, bootstrap over sentences,
# memorisation baseline, HTML highlighting.
# =========================================================================================
from types import SimpleNamespace  # noqa: E402

from helpers.ner import (  # noqa: E402
    bootstrap_entity_f1,
    choose_threshold,
    compare_entity_f1,
    entity_counts,
    highlight,
    memorisation_baseline,
    memorised_types,
    nearest_threshold,
    with_settings,
)


def test_with_settings_leaves_the_original_alone_and_shares_its_scores(scorer, monkeypatch):
    ner = ZeroShotNER(scorer, TINY_TYPES, none_words=["movie"], threshold=2.0)
    sentences = [["John", "went", "to", "Paris"]]
    before = ner.score_spans(sentences)
    monkeypatch.setattr(scorer, "word_logprobs", lambda *a, **k: pytest.fail("a prompt was scored twice"))
    raw = with_settings(ner, calibrate=False, threshold=0.5, templates=["{span} is a {mask}."])
    assert (ner.calibrate, ner.threshold, len(ner.templates)) == (True, 2.0, 2)
    assert (raw.calibrate, raw.threshold, len(raw.templates)) == (False, 0.5, 1)
    assert [s.score for s in raw.score_spans(sentences)[0]] != pytest.approx([s.score for s in before[0]])
    assert [s.score for s in ner.score_spans(sentences)[0]] == pytest.approx([s.score for s in before[0]])
    with pytest.raises(TypeError, match="unknown setting"):
        with_settings(ner, treshold=1.0)
    with pytest.raises(ValueError, match="span_filter"):
        with_settings(ner, span_filter="capitals")
    with pytest.raises(ValueError, match="none_words"):
        with_settings(ZeroShotNER(scorer, TINY_TYPES, none_words=None), use_none=True)


def test_choose_threshold_takes_the_best_and_the_smallest_on_a_tie():
    grid = [0.1, 1.0, 10.0, 100.0]
    curve = [{"f1": 0.2}, {"f1": 0.5}, {"f1": 0.5}, {"f1": 0.1}]
    assert choose_threshold(grid, curve) == (1.0, 1)
    assert choose_threshold(grid, [{"f1": 0.0}] * 4) == (0.1, 0)  # nothing found anywhere: the first
    by_precision = [{"f1": 0, "precision": p} for p in (0.1, 0.2, 0.9, 0.3)]
    assert choose_threshold(grid, by_precision, key="precision") == (10.0, 2)
    with pytest.raises(ValueError, match="same grid"):
        choose_threshold(grid, curve[:3])
    assert nearest_threshold(grid, 2.5) == 1 and nearest_threshold(grid, 4.0) == 2  # log scale: 4 is nearer 10
    with pytest.raises(ValueError, match="positive"):
        nearest_threshold([0.0, 1.0], 1.0)


GOLD = [["B-PER", "O", "B-LOC"], ["B-ORG", "I-ORG", "O"], ["O", "O", "O"]]
PRED = [["B-PER", "O", "B-PER"], ["B-ORG", "O", "O"], ["O", "B-LOC", "O"]]


def test_entity_counts_add_up_to_the_micro_scores():
    counts = entity_counts(GOLD, PRED)
    assert counts.tolist() == [[1, 2, 2], [0, 1, 1], [0, 1, 0]]
    tp, predicted, gold = counts.sum(axis=0)
    assert 2 * tp / (predicted + gold) == pytest.approx(entity_prf(GOLD, PRED)["micro"]["f1"])


def test_bootstrap_entity_f1_resamples_sentences():
    interval = bootstrap_entity_f1(GOLD, PRED, n_resamples=2000)
    assert interval.value == pytest.approx(entity_prf(GOLD, PRED)["micro"]["f1"])
    assert 0 <= interval.low < interval.value < interval.high <= 1
    assert bootstrap_entity_f1(GOLD, GOLD) == bootstrap_entity_f1(GOLD, GOLD)  # seeded
    perfect = bootstrap_entity_f1(GOLD[:2], GOLD[:2])  # every sentence has an entity
    assert (perfect.value, perfect.low, perfect.high) == (1.0, 1.0, 1.0)
    empty = bootstrap_entity_f1([["O", "O"]], [["O", "O"]])  # nothing gold, nothing predicted: 0, no error
    assert (empty.value, empty.low, empty.high) == (0.0, 0.0, 0.0)
    assert bootstrap_entity_f1([], []).value == 0.0


def test_compare_entity_f1_is_paired():
    better = [g[:] for g in GOLD]
    diff = compare_entity_f1(GOLD, better, PRED, n_resamples=2000)
    f1 = entity_prf(GOLD, PRED)["micro"]["f1"]
    assert diff.value == pytest.approx(1 - f1) and diff.low >= 0 < diff.high  # never worse on any resample
    assert compare_entity_f1(GOLD[:2], better[:2], PRED[:2]).low > 0  # each sentence has an entity: always better
    same = compare_entity_f1(GOLD, PRED, PRED)
    assert (same.value, same.low, same.high) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="3 gold sentences but 2 predicted"):
        compare_entity_f1(GOLD, PRED, PRED[:2])


def test_memorisation_takes_the_most_frequent_type_and_the_longest_match():
    train = [SimpleNamespace(tokens=t.split(), tags=g.split()) for t, g in [
        ("Leeds beat Chelsea", "B-ORG O B-ORG"), ("Leeds is a city", "B-LOC O O O"), ("Leeds won", "B-ORG O"),
        ("New York is big", "B-LOC I-LOC O O"), ("York won", "B-ORG O"), ("Paris", "B-LOC"), ("Paris", "B-PER")]]
    memory = memorised_types(train)
    assert memory["Leeds"] == "ORG" and memory["New York"] == "LOC" and memory["York"] == "ORG"
    assert memory["Paris"] == "LOC"  # a tie goes to the first type alphabetically
    tags = memorisation_baseline("In New York , Leeds met leeds and Rome".split(), memory)
    assert tags == ["O", "B-LOC", "I-LOC", "O", "B-ORG", "O", "O", "O", "O"]  # exact case; unseen names missed
    assert memorisation_baseline(["Leeds"], {}) == ["O"]


def test_highlight_marks_types_and_wrong_entities_and_escapes_html():
    tokens = ["John", "<met>", "Paris"]
    page = highlight(tokens, [(0, 1, "PER"), (2, 3, "ORG")], gold=[(0, 1, "PER"), (2, 3, "LOC")])
    assert page.count("<span") == 2 and "&lt;met&gt;" in page
    assert page.count("dashed") == 1 and page.index("dashed") > page.index("John")  # only Paris, typed wrongly
    assert "<sub>ORG</sub>" in page and "dashed" not in highlight(tokens, [(0, 1, "PER")])
