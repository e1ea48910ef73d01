"""Template: validation of slots, filling, encoding and truncation that keeps the mask."""

import pytest

from helpers import Template, TemplateError


def test_mask_slot_and_literal_mask_are_the_same(tiny_tokenizer):
    a = Template("{text} It was {mask}.").encode(tiny_tokenizer, "the movie")
    b = Template("{text} It was [MASK].").encode(tiny_tokenizer, "the movie")
    assert a == b


@pytest.mark.parametrize("bad, message", [
    ("{text} It was great.", "no mask slot"),
    ("{text} It was {mask} and {mask}.", "2 mask slots"),
    ("{text} [MASK] or {mask}", "2 mask slots"),
])
def test_template_needs_exactly_one_mask(bad, message):
    with pytest.raises(TemplateError, match=message):
        Template(bad)


def test_template_needs_a_text_slot():
    with pytest.raises(TemplateError, match="no text slot"):
        Template("It was {mask}.")


def test_unnamed_slot_is_refused():
    with pytest.raises(TemplateError, match="unnamed slot"):
        Template("{} It was {mask}.")


def test_missing_value_for_a_slot_names_it():
    template = Template("{sentence} {span} is a type of {mask}.")
    assert template.text_slots == ("sentence", "span")
    with pytest.raises(TemplateError, match=r"\['span'\]"):
        template.fill({"sentence": "John went to Paris."})
    with pytest.raises(TemplateError, match="pass a dict"):
        template.fill("John went to Paris.")


def test_fill_puts_the_mask_token_in_the_slot():
    template = Template("{text} All in all, it was {mask}.")
    assert template.fill("Nice.") == "Nice. All in all, it was [MASK]."
    assert template.fill("Nice.", mask_token="<mask>") == "Nice. All in all, it was <mask>."


def test_encoding_equals_tokenizing_the_whole_prompt(tiny_tokenizer):
    template = Template("{text} it was {mask}.")
    text = "the movie was not very good , but the acting was fine"
    encoded = template.encode(tiny_tokenizer, text)
    assert encoded.ids == tiny_tokenizer.encode(template.fill(text))
    assert [encoded.ids[p] for p in encoded.mask_positions] == [tiny_tokenizer.mask_token_id]
    assert not encoded.truncated


@pytest.mark.parametrize("side", ["right", "left"])
def test_long_text_is_cut_and_the_template_and_mask_survive(tiny_tokenizer, side):
    template = Template("{text} it was {mask}.", truncate=side)
    words = "the movie was good and the plot was bad".split()
    text = " ".join(words * 10)  # 90 words, far over the 40-token limit
    encoded = template.encode(tiny_tokenizer, text)
    assert encoded.truncated
    assert len(encoded.ids) == tiny_tokenizer.model_max_length
    tokens = tiny_tokenizer.convert_ids_to_tokens(encoded.ids)
    assert tokens[-5:] == ["it", "was", "[MASK]", ".", "[SEP]"]
    assert tokens[encoded.mask_positions[0]] == "[MASK]"
    kept = tokens[1:-5]
    expected = text.split()[: len(kept)] if side == "right" else text.split()[-len(kept):]
    assert kept == expected


def test_two_text_slots_cut_the_longest_first(tiny_tokenizer):
    template = Template("{sentence} {span} is a {mask}.")
    sentence = " ".join(["the movie was good"] * 20)
    encoded = template.encode(tiny_tokenizer, {"sentence": sentence, "span": "john"})
    tokens = tiny_tokenizer.convert_ids_to_tokens(encoded.ids)
    assert tokens[-6:] == ["john", "is", "a", "[MASK]", ".", "[SEP]"]
    assert len(encoded.ids) == tiny_tokenizer.model_max_length


def test_several_masks_for_multi_piece_words(tiny_tokenizer):
    encoded = Template("{text} it was {mask}.").encode(tiny_tokenizer, "the movie", n_masks=3)
    tokens = tiny_tokenizer.convert_ids_to_tokens(encoded.ids)
    assert [tokens[p] for p in encoded.mask_positions] == ["[MASK]"] * 3
    assert encoded.mask_positions == [5, 6, 7]


def test_template_longer_than_the_model_is_an_error(tiny_tokenizer):
    template = Template("{text} " + "the movie was good . " * 10 + "{mask}")
    with pytest.raises(TemplateError, match="shorten the template"):
        template.encode(tiny_tokenizer, "fine")


def test_mask_token_inside_the_text_is_not_the_answer_slot(tiny_tokenizer):
    encoded = Template("{text} it was {mask}.").encode(tiny_tokenizer, "[MASK]")
    assert encoded.mask_positions == [4]
    assert encoded.ids.count(tiny_tokenizer.mask_token_id) == 2


def test_truncate_option_is_checked():
    with pytest.raises(TemplateError, match="truncate"):
        Template("{text} {mask}", truncate="middle")


@pytest.fixture(scope="module")
def bpe_tokenizer(tmp_path_factory):
    """A tiny byte-level BPE tokenizer, RoBERTa-style: <s> </s> <mask>, word starts marked with Ġ."""
    import json

    from tokenizers import ByteLevelBPETokenizer
    from transformers import AddedToken, RobertaTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(["The film was great.", "the film was terrible.", "It was great, great, great."] * 20,
                            vocab_size=300, min_frequency=2, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    vocab_file, merges_file = bpe.save_model(str(tmp_path_factory.mktemp("bpe")))
    merges = [tuple(line.split()) for line in open(merges_file, encoding="utf-8").read().splitlines()
              if line and not line.startswith("#")]
    vocab = json.load(open(vocab_file, encoding="utf-8"))
    return RobertaTokenizerFast(vocab=vocab, merges=merges, mask_token=AddedToken("<mask>", lstrip=True))


def test_a_literal_mask_becomes_the_tokenizers_own(bpe_tokenizer, tiny_tokenizer):
    from helpers.template import with_mask_token

    assert with_mask_token("It was [MASK]. And [MASK]", bpe_tokenizer) == "It was <mask>. And <mask>"
    assert with_mask_token("It was <mask>.", tiny_tokenizer) == "It was [MASK]."
    assert with_mask_token("It was [MASK].", tiny_tokenizer) == "It was [MASK]."


def test_readable_tokens_drop_the_byte_level_space_mark_only(bpe_tokenizer, tiny_tokenizer):
    from helpers.template import readable_tokens

    ids = bpe_tokenizer("The film was <mask>")["input_ids"]
    assert bpe_tokenizer.convert_ids_to_tokens(ids)[2] == "Ġfilm"
    assert readable_tokens(bpe_tokenizer, ids) == ["<s>", "The", "film", "was", "<mask>", "</s>"]
    ids = tiny_tokenizer("the film was [MASK] wonderful")["input_ids"]
    assert readable_tokens(tiny_tokenizer, ids) == tiny_tokenizer.convert_ids_to_tokens(ids)
    assert "##ful" in readable_tokens(tiny_tokenizer, ids)


def test_mask_scorer_takes_a_literal_mask_with_a_bpe_tokenizer(bpe_tokenizer):
    import torch
    from transformers import RobertaConfig, RobertaForMaskedLM

    from helpers import MaskScorer

    torch.manual_seed(0)
    model = RobertaForMaskedLM(RobertaConfig(vocab_size=len(bpe_tokenizer), hidden_size=16, num_hidden_layers=1,
                                             num_attention_heads=2, intermediate_size=16, max_position_embeddings=40,
                                             pad_token_id=1)).eval()
    scorer = MaskScorer(model, bpe_tokenizer, progress=False)
    with_literal = scorer.top_k("The film was [MASK].", k=3)
    assert with_literal == scorer.top_k("The film was <mask>.", k=3)
    assert not any(token.startswith("Ġ") for token, _ in with_literal[0])


def test_continuation_ids_are_the_pieces_that_cannot_start_a_word(bpe_tokenizer, tiny_tokenizer):
    from helpers.template import continuation_ids

    wordpiece = set(tiny_tokenizer.convert_ids_to_tokens(continuation_ids(tiny_tokenizer)))
    assert wordpiece == {"##tastic", "##ful"}
    bpe = set(bpe_tokenizer.convert_ids_to_tokens(continuation_ids(bpe_tokenizer)))
    assert "Ġgreat" not in bpe and "<mask>" not in bpe and "<s>" not in bpe
    assert "The" in bpe and "." in bpe  # no Ġ: glued to what comes before


def test_a_space_before_the_mask_is_not_a_token_of_its_own(bpe_tokenizer):
    # RoBERTa's <mask> absorbs the space before it: "was <mask>" is "Ġwas <mask>", never "Ġwas Ġ <mask>"
    template = Template("{text} It was {mask}.")
    whole = bpe_tokenizer(template.fill("a good film.", bpe_tokenizer.mask_token))["input_ids"]
    assert template.encode(bpe_tokenizer, "a good film.").ids == whole
