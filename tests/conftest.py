"""Shared fixtures: a tiny randomly initialised BERT with its own small vocabulary.

No test downloads anything; the tiny model is built in memory and saved to a temporary
folder so the folder-loading path of ``load_mlm`` is exercised too.
"""

from __future__ import annotations

import os

import pytest
import torch
from transformers import BertConfig, BertForMaskedLM, BertTokenizer

from helpers import MaskScorer

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = (
    "the a it was is this movie film great good terrible bad awful fine plot acting story "
    "and but not very really i liked hated loved it's of to in on john paris went visit "
    "city person place fan ##tastic wonder ##ful n / . , ! ?"
).split()
MAX_POSITIONS = 40

# Pin device="auto" to the CPU for the whole run, at import, before nbval starts any kernel
# (kernels inherit this process's environment): the notebooks' stored outputs were made on the
# CPU in fp32, and CUDA would print another device and score under autocast. To check the
# notebooks on a GPU instead, set PROMPTLAB_DEVICE=cuda before running pytest.
os.environ.setdefault("PROMPTLAB_DEVICE", "cpu")


@pytest.fixture(scope="session")
def tiny_tokenizer() -> BertTokenizer:
    vocab = {token: i for i, token in enumerate(SPECIAL + WORDS)}
    tokenizer = BertTokenizer(vocab=vocab)
    tokenizer.model_max_length = MAX_POSITIONS
    return tokenizer


@pytest.fixture(scope="session")
def tiny_model(tiny_tokenizer) -> BertForMaskedLM:
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tiny_tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=MAX_POSITIONS, attn_implementation="eager",
    )
    return BertForMaskedLM(config).eval()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tiny_model, tiny_tokenizer):
    folder = tmp_path_factory.mktemp("tiny-bert")
    tiny_model.save_pretrained(folder)
    tiny_tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture()
def scorer(tiny_model, tiny_tokenizer) -> MaskScorer:
    return MaskScorer(tiny_model, tiny_tokenizer, batch_size=4, progress=False)
