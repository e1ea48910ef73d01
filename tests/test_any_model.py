"""Every notebook runs to the end on checkpoints it was not written for.

Two checkpoints are built here, in a temporary folder, and each notebook is executed on them
with ``tools/classroom.py run OUT --set MODEL=<folder>`` at small sample sizes:

- a randomly initialised 12-layer x 12-head BERT with the default model's WordPiece tokenizer
  (a model that predicts nothing useful: one class for every text, no entity found);
- a small RoBERTa-style model with a byte-level BPE tokenizer trained here on local text
  (``<s> </s> <pad> <unk> <mask>``, word pieces with a leading-space marker ``Ġ``, cased).

No cell may raise. Claims about the default model print a note on these models instead.
A few minutes on two cores; part of the full test run, alone with ``pytest -m any_model tests/test_any_model.py``.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import torch
from transformers import (
    AddedToken,
    BertConfig,
    BertForMaskedLM,
    RobertaConfig,
    RobertaForMaskedLM,
    RobertaTokenizerFast,
)

from helpers.data import load_conll2003, load_imdb, load_sst2
from helpers.offline_model import load_offline_tokenizer

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

# Small values for the parameters the notebooks have; each notebook gets those it declares.
SMALL = {"TOP_K": "5", "N_SST2": "24", "N_IMDB": "24", "N_SPEED": "16", "BATCH_SIZE": "8",
         "N_VALIDATION": "16", "N_TYPING": "24", "N_TEST": "16", "FULL_TEST": "False", "FULL_RUN": "False",
         "N_VAL": "24", "N_SPANS": "24", "K_VALUES": "(4,)", "SEEDS": "(0,)", "MAX_LENGTH": "64",
         "DEVICE": '"cpu"'}


def random_bert(folder: Path) -> Path:
    """A randomly initialised 12-layer x 12-head BERT (hidden size 48) with the default tokenizer."""
    tokenizer = load_offline_tokenizer()
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=48, num_hidden_layers=12, num_attention_heads=12,
                        intermediate_size=96, max_position_embeddings=512)
    BertForMaskedLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _local_text(limit: int) -> list[str]:
    """IMDB and SST-2 training text and CoNLL-2003 training sentences, cased as they are."""
    sentences = [" ".join(s.tokens) for s in load_conll2003("train")[:limit]]
    return load_imdb("train", n=limit).texts + load_sst2("train").texts[:limit] + sentences


def small_roberta(folder: Path, vocab_size: int = 8000) -> Path:
    """A randomly initialised 2-layer RoBERTa with a byte-level BPE tokenizer trained on local text."""
    from tokenizers import ByteLevelBPETokenizer

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(_local_text(3000), vocab_size=vocab_size, min_frequency=2,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    folder.mkdir(parents=True, exist_ok=True)
    vocab_file, merges_file = bpe.save_model(str(folder))
    merges = [tuple(line.split()) for line in Path(merges_file).read_text(encoding="utf-8").splitlines()
              if line and not line.startswith("#")]
    vocab = json.loads(Path(vocab_file).read_text(encoding="utf-8"))
    # lstrip as in roberta-base: "was <mask>" has no lone space piece
    tokenizer = RobertaTokenizerFast(vocab=vocab, merges=merges, model_max_length=512,
                                     mask_token=AddedToken("<mask>", lstrip=True))
    torch.manual_seed(0)
    config = RobertaConfig(vocab_size=len(tokenizer), hidden_size=48, num_hidden_layers=2, num_attention_heads=4,
                           intermediate_size=96, max_position_embeddings=514, type_vocab_size=1,
                           pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
                           eos_token_id=tokenizer.eos_token_id)
    RobertaForMaskedLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def parameters_of(path: Path) -> set[str]:
    """Names assigned in a notebook's cell tagged ``parameters``."""
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    return {t.id for node in ast.walk(ast.parse(cell.source)) if isinstance(node, ast.Assign)
            for t in node.targets if isinstance(t, ast.Name)}


def run_notebook(name: str, model_dir: Path, out: Path) -> list[str]:
    """Execute one notebook on ``model_dir`` with small sizes; the cells that raised, as printed by the tool."""
    known = parameters_of(ROOT / "notebooks" / name)
    settings = [f"MODEL={str(model_dir)!r}"] + [f"{k}={v}" for k, v in SMALL.items() if k in known]
    command = [sys.executable, str(ROOT / "tools" / "classroom.py"), "run", str(out), "--only", name[:2]]
    command += [arg for s in settings for arg in ("--set", s)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    print(done.stdout, done.stderr)
    if "cells raised" not in done.stdout:
        pytest.fail(f"tools/classroom.py run did not finish {name}:\n{done.stderr[-3000:]}")
    return [line.strip() for line in done.stdout.splitlines() if line.startswith("  cell ")]


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("checkpoints")
    return {"random-bert-12x12": random_bert(root / "random-bert-12x12"),
            "small-roberta-bpe": small_roberta(root / "small-roberta-bpe")}


def test_the_roberta_checkpoint_is_byte_level_cased_with_mask(checkpoints):
    tokenizer = RobertaTokenizerFast.from_pretrained(checkpoints["small-roberta-bpe"])
    assert tokenizer.mask_token == "<mask>" and tokenizer.cls_token == "<s>" and tokenizer.sep_token == "</s>"
    pieces = tokenizer.tokenize("The film was great")
    assert pieces[0] == "The" and all(p.startswith("Ġ") for p in pieces[1:]), pieces
    assert tokenizer.tokenize(" Paris") != tokenizer.tokenize(" paris")


@pytest.mark.slow
@pytest.mark.any_model
@pytest.mark.parametrize("name", NOTEBOOKS)
@pytest.mark.parametrize("checkpoint", ["random-bert-12x12", "small-roberta-bpe"])
def test_every_cell_runs_on_another_checkpoint(checkpoints, checkpoint, name, tmp_path):
    raised = run_notebook(name, checkpoints[checkpoint], tmp_path)
    assert not raised, f"{name} on {checkpoint}: {len(raised)} cells raised:\n" + "\n".join(raised)
