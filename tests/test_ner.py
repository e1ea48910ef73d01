"""helpers.ner: span enumeration, overlap resolution, BIO round trips and entity F1."""

import pytest

from helpers.ner import (ScoredSpan, ZeroShotNER, bio_from_entities, candidate_spans, decode_spans,
                         entities_from_bio, entity_prf)

TOKENS = ["John", "went", "to", "New", "York", "City", "."]


def test_all_ngrams_without_a_filter():
    spans = candidate_spans(["a", "b", "c"], max_span_len=2, span_filter="none")
    assert spans == [(0, 1), (0, 2), (1, 2), (1, 3), (2, 3)]


def test_capitalized_filter_needs_capitals_at_both_ends():
    spans = candidate_spans(TOKENS, max_span_len=3)
    assert spans == [(0, 1), (3, 4), (3, 5), (3, 6), (4, 5), (4, 6), (5, 6)]
    assert len(candidate_spans(TOKENS, 3, "none")) == 7 + 6 + 5


def test_bad_filter_or_length_is_refused():
    with pytest.raises(ValueError, match="span_filter"):
        candidate_spans(TOKENS, 3, "proper_nouns")
    with pytest.raises(ValueError, match="at least 1"):
        candidate_spans(TOKENS, 0)


def test_overlaps_resolved_highest_score_first():
    spans = [ScoredSpan(3, 5, "LOC", 0.9, 0.30), ScoredSpan(3, 6, "LOC", 0.8, 0.50),
             ScoredSpan(4, 6, "ORG", 0.7, 0.40), ScoredSpan(0, 1, "PER", 0.9, 0.20),
             ScoredSpan(5, 6, "LOC", 0.6, 0.05)]
    assert decode_spans(spans) == [(0, 1, "PER"), (3, 6, "LOC")]
    assert decode_spans(spans, threshold=0.25) == [(3, 6, "LOC")]
    assert decode_spans([ScoredSpan(0, 1, "none", 0.9, 0.9)]) == []


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


def test_zero_shot_ner_end_to_end_on_any_type_set(scorer):
    ner = ZeroShotNER(scorer, {"PERSON": ["person"], "PLACE": ["place", "city"]}, max_span_len=2)
    sentences = [["John", "went", "to", "Paris", "."], ["the", "movie", "was", "great"]]
    tags = ner.predict(sentences)
    assert [len(t) for t in tags] == [5, 4]
    assert tags[1] == ["O"] * 4  # no capitalised token, no candidate
    assert {t[2:] for t in tags[0] if t != "O"} <= {"PERSON", "PLACE"}
    scored = ner.score_spans(sentences)
    assert [(s.start, s.end) for s in scored[0]] == [(0, 1), (3, 4)]
    assert all(0 < s.mass < 1 and s.type in ("PERSON", "PLACE") for s in scored[0])
    strict = ZeroShotNER(scorer, {"PERSON": ["person"], "PLACE": ["place"]}, threshold=1.0)
    assert strict.predict(sentences)[0] == ["O"] * 5


def test_zero_shot_ner_checks_its_arguments(scorer):
    with pytest.raises(ValueError, match="at least one entity type"):
        ZeroShotNER(scorer, {})
    with pytest.raises(ValueError, match="reserved"):
        ZeroShotNER(scorer, {"none": ["thing"]})
    with pytest.raises(ValueError, match="slots"):
        ZeroShotNER(scorer, {"PER": ["person"]}, template="{text} is a {mask}.")
