"""MaskScorer: agreement with a plain forward pass, batching, order, errors and OOM retry."""

import warnings

import numpy as np
import pytest
import torch

from helpers import MaskScorer, Template, TruncationWarning, Verbalizer, calibrate_probs

TEXTS = [
    "the movie was [MASK] .",
    "i really liked the plot and the acting , it was [MASK] !",
    "[MASK]",
    "this film is not very good but the story was [MASK] and the acting was fine .",
    "john went to paris to visit the city . john is a [MASK] .",
    "it was [MASK] .",
]


def manual_logprobs(model, tokenizer, text):
    """One text, no padding, the full model: log-softmax at each mask position."""
    ids = torch.tensor([tokenizer.encode(text)])
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0]
    return torch.log_softmax(logits[ids[0] == tokenizer.mask_token_id], dim=-1)


def test_top_k_matches_a_plain_forward_pass(scorer, tiny_model, tiny_tokenizer):
    text = TEXTS[1]
    expected = manual_logprobs(tiny_model, tiny_tokenizer, text)[0].exp()
    probs, ids = torch.topk(expected, 5)
    (found,) = scorer.top_k(text, k=5)  # one text, one mask
    assert [t for t, _ in found] == tiny_tokenizer.convert_ids_to_tokens(ids.tolist())
    np.testing.assert_allclose([p for _, p in found], probs.numpy(), atol=1e-6)
    assert all(a >= b for (_, a), (_, b) in zip(found, found[1:]))


def test_top_k_gives_one_list_per_mask(scorer):
    result = scorer.top_k(["the [MASK] was [MASK] .", "it was [MASK] ."], k=3)
    assert [len(r) for r in result] == [2, 1]
    assert all(len(per_mask) == 3 for r in result for per_mask in r)


def test_label_logprobs_are_normalised_over_the_whole_vocabulary(scorer, tiny_model, tiny_tokenizer):
    ids = tiny_tokenizer.convert_tokens_to_ids(["great", "terrible", "the"])
    got = scorer.label_logprobs(TEXTS[:2], ids)
    for row, text in zip(got, TEXTS[:2]):
        expected = manual_logprobs(tiny_model, tiny_tokenizer, text)[0][ids].numpy()
        np.testing.assert_allclose(row, expected, atol=1e-5)


def test_batched_equals_one_at_a_time_and_keeps_input_order(tiny_model, tiny_tokenizer):
    ids = tiny_tokenizer.convert_tokens_to_ids(["great", "terrible", "good", "bad", "person"])
    texts = [t for t in TEXTS if t.count("[MASK]") == 1]
    one = MaskScorer(tiny_model, tiny_tokenizer, batch_size=1, progress=False).label_logprobs(texts, ids)
    batched = MaskScorer(tiny_model, tiny_tokenizer, batch_size=3, progress=False).label_logprobs(texts, ids)
    np.testing.assert_allclose(batched, one, atol=1e-5)
    for row, text in zip(batched, texts):  # order: row i belongs to text i
        np.testing.assert_allclose(row, manual_logprobs(tiny_model, tiny_tokenizer, text)[0][ids].numpy(), atol=1e-5)


def test_empty_inputs_give_empty_results(scorer):
    verbalizer = Verbalizer({"negative": ["bad"], "positive": ["good"]})
    assert scorer.top_k([], k=3) == []
    assert scorer.label_logprobs([], [5, 6]).shape == (0, 2)
    assert scorer.classify([], Template("{text} it was {mask}."), verbalizer).shape == (0, 2)


def test_text_without_mask_or_too_long_is_an_error(scorer):
    with pytest.raises(ValueError, match="text 1 has no \\[MASK\\]"):
        scorer.top_k(["it was [MASK] .", "it was good ."])
    with pytest.raises(ValueError, match="use a Template|put it in a Template"):
        scorer.top_k(["the movie was good . " * 20 + "[MASK]"])
    with pytest.raises(ValueError, match="exactly one"):
        scorer.label_logprobs(["the [MASK] was [MASK] ."], [5])


def test_classify_cuts_long_text_keeps_mask_and_warns(scorer, tiny_tokenizer):
    template = Template("{text} it was {mask}.")
    verbalizer = Verbalizer({"negative": ["bad", "terrible"], "positive": ["good", "great"]})
    long_text = "the plot was bad but the acting was good . " * 10
    with pytest.warns(TruncationWarning, match="1 of 2 inputs"):
        probs = scorer.classify(["the movie", long_text], template, verbalizer)
    assert probs.shape == (2, 2)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-9)
    # the long input scored exactly as its cut prompt: same ids, mask at the end
    cut = template.encode(tiny_tokenizer, long_text, scorer.max_length)
    raw = tiny_tokenizer.decode(cut.ids[1:-1])
    words = scorer.label_logprobs(raw, [i[0] for i in verbalizer.bind(tiny_tokenizer).word_ids])
    np.testing.assert_allclose(probs[1], verbalizer.bind(tiny_tokenizer).class_probs(words)[0], atol=1e-6)


def forward_logprobs(model, ids):
    """Log-softmax at every position of one sequence of token ids, with the full model."""
    with torch.no_grad():
        return torch.log_softmax(model(input_ids=torch.tensor([ids])).logits[0], dim=-1)


def test_parallel_scores_two_split_words_as_the_sum_of_their_pieces(scorer, tiny_model, tiny_tokenizer):
    template = Template("{text} it was {mask}.")
    verbalizer = Verbalizer({"negative": ["bad", "wonderful"], "positive": ["fantastic", "fantasticful"]},
                            multi_token="parallel")
    got = scorer.word_logprobs(["the movie", "i hated the plot"], template, verbalizer)
    ids = tiny_tokenizer.convert_tokens_to_ids
    bad, fan, tastic, wonder, ful = ids(["bad", "fan", "##tastic", "wonder", "##ful"])
    for row, text in zip(got, ["the movie", "i hated the plot"]):
        one = manual_logprobs(tiny_model, tiny_tokenizer, f"{text} it was [MASK] .")[0]
        two = manual_logprobs(tiny_model, tiny_tokenizer, f"{text} it was [MASK] [MASK] .")
        three = manual_logprobs(tiny_model, tiny_tokenizer, f"{text} it was [MASK] [MASK] [MASK] .")
        expected = [one[bad], two[0, wonder] + two[1, ful], two[0, fan] + two[1, tastic],
                    three[0, fan] + three[1, tastic] + three[2, ful]]
        np.testing.assert_allclose(row, [e.item() for e in expected], atol=1e-5)


def test_iterative_fills_the_most_confident_mask_first_by_hand(scorer, tiny_model, tiny_tokenizer):
    template = Template("{text} it was {mask}.")
    verbalizer = Verbalizer({"negative": ["bad", "wonderful"], "positive": ["fantastic"]}, multi_token="iterative")
    texts = ["the movie", "i hated the plot and the acting"]
    got = scorer.word_logprobs(texts, template, verbalizer)
    ids = tiny_tokenizer.convert_tokens_to_ids
    for row, text in zip(got, texts):
        prompt = tiny_tokenizer.encode(f"{text} it was [MASK] [MASK] .")
        first = prompt.index(tiny_tokenizer.mask_token_id)
        two = forward_logprobs(tiny_model, prompt)
        for column, (a, b) in [(1, ids(["wonder", "##ful"])), (2, ids(["fan", "##tastic"]))]:
            left, right = two[first, a].item(), two[first + 1, b].item()
            if left >= right:  # the first mask is the more confident: fill it with its piece, run again
                filled = prompt[:first] + [a] + prompt[first + 1:]
                expected = left + forward_logprobs(tiny_model, filled)[first + 1, b].item()
            else:
                filled = prompt[:first + 1] + [b] + prompt[first + 2:]
                expected = right + forward_logprobs(tiny_model, filled)[first, a].item()
            assert row[column] == pytest.approx(expected, abs=1e-5)
        one = forward_logprobs(tiny_model, tiny_tokenizer.encode(f"{text} it was [MASK] ."))
        assert row[0] == pytest.approx(one[first, ids("bad")].item(), abs=1e-5)
    parallel = scorer.word_logprobs(texts, template, Verbalizer(verbalizer.label_words, multi_token="parallel"))
    assert not np.allclose(got[:, 1:], parallel[:, 1:])  # a second pass sees the first piece


def test_iterative_three_pieces_follow_one_order_of_filling(scorer, tiny_model, tiny_tokenizer):
    from itertools import permutations

    verbalizer = Verbalizer({"negative": ["bad"], "positive": ["fantasticful"]}, multi_token="iterative")
    (got,) = scorer.word_logprobs("the movie", Template("{text} it was {mask}."), verbalizer)[:, 1:]
    pieces = tiny_tokenizer.convert_tokens_to_ids(["fan", "##tastic", "##ful"])
    prompt = tiny_tokenizer.encode("the movie it was [MASK] [MASK] [MASK] .")
    first = prompt.index(tiny_tokenizer.mask_token_id)
    paths = {}
    for order in permutations(range(3)):
        ids, total = list(prompt), 0.0
        for j in order:
            total += forward_logprobs(tiny_model, ids)[first + j, pieces[j]].item()
            ids[first + j] = pieces[j]
        paths[order] = total
    start = forward_logprobs(tiny_model, prompt)
    most_confident = max(range(3), key=lambda j: start[first + j, pieces[j]].item())
    matching = [order for order, total in paths.items() if abs(total - got) < 1e-5]
    assert matching and all(order[0] == most_confident for order in matching)


def test_one_string_is_one_row_everywhere(scorer):
    template = Template("{text} it was {mask}.")
    verbalizer = Verbalizer({"negative": ["bad"], "positive": ["good"]})
    one = scorer.classify("one review", template, verbalizer)
    assert one.shape == (1, 2)
    np.testing.assert_allclose(one, scorer.classify(["one review"], template, verbalizer))
    assert scorer.word_logprobs("one review", template, verbalizer).shape == (1, 2)
    assert scorer.label_logprobs("it was [MASK] .", [5, 6]).shape == (1, 2)
    (per_mask,) = scorer.top_k("it was [MASK] .", k=3)
    assert len(per_mask) == 3
    slots = {"sentence": "john went to paris", "span": "paris"}
    assert scorer.classify(slots, Template("{sentence} {span} is a {mask}."), verbalizer).shape == (1, 2)


def test_bad_texts_and_k_get_clear_errors(scorer):
    template = Template("{text} it was {mask}.")
    verbalizer = Verbalizer({"negative": ["bad"], "positive": ["good"]})
    with pytest.raises(TypeError, match=r"texts\[1\] is None"):
        scorer.classify(["fine", None], template, verbalizer)
    with pytest.raises(TypeError, match="got a int"):
        scorer.classify(3, template, verbalizer)
    with pytest.raises(TypeError, match=r"texts\[0\] is None"):
        scorer.top_k([None])
    size = len(scorer.tokenizer)
    with pytest.raises(ValueError, match=f"k must be a whole number from 1 to the vocabulary size {size}, got 1000000"):
        scorer.top_k("it was [MASK] .", k=10**6)
    with pytest.raises(ValueError, match="k must be"):
        scorer.top_k("it was [MASK] .", k=0)
    with pytest.raises(ValueError, match=r"token ids \[999\] are outside the vocabulary"):
        scorer.label_logprobs("it was [MASK] .", [5, 999])


def test_word_logprobs_and_top_k_is_one_pass_for_both(scorer):
    template = Template("{text} it was {mask}.")
    verbalizer = Verbalizer({"negative": ["bad", "wonderful"], "positive": ["good"]}, multi_token="parallel")
    texts = ["the movie", "i loved it"]
    calls = []
    real = scorer._encoder.forward
    scorer._encoder.forward = lambda *a, **k: calls.append(1) or real(*a, **k)
    try:
        word_lp, top = scorer.word_logprobs_and_top_k(texts, template, verbalizer, k=3)
    finally:
        del scorer._encoder.forward
    assert len(calls) == 2  # one pass with one mask (top-k and one-piece words), one with two masks
    np.testing.assert_allclose(word_lp, scorer.word_logprobs(texts, template, verbalizer))
    assert top == [scorer.top_k(template.fill(t), k=3)[0] for t in texts]


def test_calibration_divides_by_the_content_free_probabilities(scorer):
    template = Template("{text} it was {mask}.")
    verbalizer = Verbalizer({"negative": ["bad"], "positive": ["good"]})
    texts = ["the movie", "the plot was terrible", "i loved it"]
    p_cf = scorer.content_free_probs(template, verbalizer)
    raw = scorer.classify(texts, template, verbalizer)
    calibrated = scorer.classify(texts, template, verbalizer, calibrate=True)
    np.testing.assert_allclose(calibrated, calibrate_probs(raw, p_cf))
    np.testing.assert_allclose(calibrate_probs(p_cf[None], p_cf), [[0.5, 0.5]])
    custom = scorer.classify(texts, template, verbalizer, calibrate=["n/a"])
    np.testing.assert_allclose(custom, calibrate_probs(raw, scorer.content_free_probs(template, verbalizer, ["n/a"])))


def test_out_of_memory_halves_the_batch_and_retries(tiny_model, tiny_tokenizer):
    scorer = MaskScorer(tiny_model, tiny_tokenizer, batch_size=4, progress=False)
    real_encoder = scorer._encoder
    sizes = []

    def small_memory_encoder(input_ids, attention_mask):
        sizes.append(input_ids.shape[0])
        if input_ids.shape[0] > 1:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return real_encoder(input_ids=input_ids, attention_mask=attention_mask)

    ids = tiny_tokenizer.convert_tokens_to_ids(["great", "bad"])
    texts = [t for t in TEXTS if t.count("[MASK]") == 1]
    scorer._encoder = small_memory_encoder
    with pytest.warns(ResourceWarning, match="batch_size=2"):
        got = scorer.label_logprobs(texts, ids)
    assert sizes[:3] == [4, 2, 1]
    expected = MaskScorer(tiny_model, tiny_tokenizer, progress=False).label_logprobs(texts, ids)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_out_of_memory_with_one_text_says_what_to_do(tiny_model, tiny_tokenizer):
    scorer = MaskScorer(tiny_model, tiny_tokenizer, batch_size=1, progress=False)

    def no_memory(input_ids, attention_mask):
        raise torch.OutOfMemoryError("CUDA out of memory (simulated)")

    scorer._encoder = no_memory
    with warnings.catch_warnings(), pytest.raises(RuntimeError, match="batch of one text"):
        scorer.top_k("it was [MASK] .")


def test_limits_and_options(tiny_model, tiny_tokenizer):
    scorer = MaskScorer(tiny_model, tiny_tokenizer)
    assert scorer.max_length == 40
    assert scorer.device == torch.device("cpu")
    with pytest.raises(ValueError, match="batch_size"):
        MaskScorer(tiny_model, tiny_tokenizer, batch_size=0)


def test_scoring_uses_fused_attention_and_gives_the_model_back(scorer, tiny_model):
    seen = []
    real = scorer._encoder.forward

    def spy(*args, **kwargs):
        seen.append(tiny_model.config._attn_implementation)
        return real(*args, **kwargs)

    scorer._encoder.forward = spy
    try:
        scorer.top_k("it was [MASK] .")
    finally:
        del scorer._encoder.forward
    assert seen == ["sdpa"]
    assert tiny_model.config._attn_implementation == "eager"


def test_truncation_warning_points_at_the_callers_line(scorer):
    template = Template("{text} it was {mask}.")
    verbalizer = Verbalizer({"negative": ["bad"], "positive": ["good"]})
    with pytest.warns(TruncationWarning) as caught:
        scorer.classify(["the movie was good . " * 20], template, verbalizer)
    assert caught[0].filename == __file__


def test_a_verbalizer_or_a_bound_one_gives_the_same_everywhere(scorer, tiny_tokenizer):
    template = Template("{text} it was {mask}.")
    verbalizer = Verbalizer({"negative": ["bad", "terrible"], "positive": ["good"]})
    bound = verbalizer.bind(tiny_tokenizer)
    texts = ["the movie", "i hated it"]
    np.testing.assert_allclose(scorer.classify(texts, template, bound, calibrate=True),
                               scorer.classify(texts, template, verbalizer, calibrate=True))
    np.testing.assert_allclose(scorer.word_logprobs(texts, template, bound), scorer.word_logprobs(texts, template,
                                                                                                  verbalizer))
    np.testing.assert_allclose(scorer.content_free_probs(template, bound), scorer.content_free_probs(template,
                                                                                                     verbalizer))
    subset = bound.subset(["terrible", "good"])
    np.testing.assert_allclose(scorer.classify(texts, template, subset),
                               scorer.classify(texts, template, Verbalizer({"negative": ["terrible"],
                                                                            "positive": ["good"]})))
