"""training/gpu_job: bundle and runner end to end at tiny scale on CPU; helpers load the result."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from transformers import BertForMaskedLM

from helpers.offline_model import full_weight_shards, load_weights, weights_metadata
from training.gpu_job.bundle import build_bundle
from training.gpu_job.run import BundleError, build_model, main, open_bundle

pytestmark = pytest.mark.slow  # the GPU job

ROOT = Path(__file__).resolve().parent.parent
DOCS = {
    "reviews": ["i liked the movie , it was great !", "i hated the film . the plot was awful .",
                "the acting was fine but the story was bad ."] * 6,
    "news": ["john went to paris .", "paris is a city ."] * 6,
}
HELDOUT = ["i loved the film , the acting was great ."] * 4


@pytest.fixture()
def bundle(tmp_path, tiny_model, tiny_tokenizer):
    manifest = build_bundle(tmp_path / "bundle", tiny_model, tiny_tokenizer, DOCS, HELDOUT, "the tiny test model",
                            repeats={"news": 2}, max_mib=1.0, facts={"encoder_package": "tiny"})
    return tmp_path / "bundle", manifest


def test_bundle_holds_every_source_and_int8_weights_close_to_the_model(bundle, tiny_model):
    folder, manifest = bundle
    assert set(manifest["sources"]) == {"heldout", "reviews", "news"}
    assert manifest["sources"]["news"]["repeat"] == 2 and manifest["sources"]["reviews"]["repeat"] == 1
    assert manifest["sources"]["reviews"]["documents"] == 18
    manifest, paths = open_bundle([folder])
    rebuilt = build_model(manifest, paths["init.safetensors"], dropout=None)
    for (name, original), (_, restored) in zip(tiny_model.state_dict().items(), rebuilt.state_dict().items()):
        if original.dim() == 2:  # int8 with a per-row scale: within half a step of each row's grid
            step = original.abs().amax(dim=1, keepdim=True) / 127
            assert ((restored - original).abs() <= step / 2 + 1e-6).all(), name


def test_a_part_left_behind_or_a_damaged_file_is_named(bundle, tmp_path, tiny_model, tiny_tokenizer):
    init_bytes = bundle[1]["files"]["init.safetensors"]["bytes"]
    room = (init_bytes + 150) / 0.99 / 2**20  # part 1: the weights and about 150 bytes more
    manifest = build_bundle(tmp_path / "b", tiny_model, tiny_tokenizer, DOCS, HELDOUT, "tiny", max_mib=room, parts=2)
    in_part2 = [name for name, f in manifest["files"].items() if f["part"] == 2]
    assert in_part2 and manifest["files"]["init.safetensors"]["part"] == 1
    with pytest.raises(BundleError, match="part 2 of 2"):
        open_bundle([tmp_path / "b" / "part1"])
    open_bundle([tmp_path / "b" / "part1", tmp_path / "b" / "part2"])
    (tmp_path / "b" / "part2" / in_part2[0]).write_bytes(b"damaged")
    with pytest.raises(BundleError, match="checksum"):
        open_bundle([tmp_path / "b" / "part1", tmp_path / "b" / "part2"])


def test_the_job_trains_to_its_time_budget_resumes_and_helpers_load_the_result(bundle, tmp_path, tiny_model, capsys):
    folder, _ = bundle
    out, work = tmp_path / "out", tmp_path / "work"
    common = ["--bundle", str(folder), "--out", str(out), "--work", str(work), "--batch-size", "4",
              "--seq-len", "16", "--short-len", "8", "--short-every", "2", "--device", "cpu", "--lr", "3e-3",
              "--checkpoint-every-s", "2"]
    first = main(common + ["--budget-s", "4"])
    assert first["final"] and first["train_s"] >= 4
    second = main(common + ["--budget-s", "8"])  # the same work folder: goes on from the first run's checkpoint
    assert "resumed at step" in capsys.readouterr().out
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in log]
    assert steps == sorted(steps) and steps[-1] == second["step"] > first["step"]
    assert len(log) >= 4 and all(0 <= r["heldout_masked_acc"] <= 1 for r in log)
    assert second["final"] and 8 <= second["train_s"] < 12
    # the schedule decays over the budget (a slow first step can log while still warming up)
    assert max(r["lr"] for r in log) > log[-1]["lr"] > 0
    shards = full_weight_shards(out)
    assert sorted(p.name for p in shards) == sorted(second["shards"])
    loaded = load_weights(BertForMaskedLM(tiny_model.config), out).eval()
    checkpoint = torch.load(work / "checkpoint.pt")
    reference = BertForMaskedLM(tiny_model.config)
    reference.load_state_dict({k: v.half().float() for k, v in checkpoint["model"].items()})
    ids = torch.tensor([[2, 5, 6, 4, 3]])
    with torch.no_grad():
        torch.testing.assert_close(loaded(input_ids=ids).logits, reference.eval()(input_ids=ids).logits)
        assert not torch.allclose(loaded(input_ids=ids).logits, tiny_model(input_ids=ids).logits, atol=1e-2)
    meta = weights_metadata(out)
    assert meta["form"] == "full" and meta["steps"] == second["step"] and meta["budget_s"] == 8
    assert meta["corpus_tokens"]["news"] == 2 * (meta["corpus_tokens"]["news"] // 2)


def test_the_runner_loads_only_the_checksum_module_of_helpers():
    # the GPU machine has torch and transformers, not the project's other dependencies
    code = "import sys, training.gpu_job.run; print(sorted(m for m in sys.modules if m.split('.')[0] == 'helpers'))"
    found = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "['helpers', 'helpers.data_files']"


def test_bench_step_unpacks_the_data_and_writes_a_loadable_model_folder(tmp_path, tiny_model, tiny_tokenizer,
                                                                         tiny_model_dir):
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    from training.export import save_fp16_shards
    from training.gpu_job.bench import model_folder, unpack_data
    from training.gpu_job.bundle import bench_extras

    data = tmp_path / "data"
    (data / "conll2003").mkdir(parents=True)
    (data / "conll2003" / "test.txt").write_text("John NNP B-NP B-PER\n\n")
    with pytest.raises(FileNotFoundError, match="no-bench-data"):
        bench_extras(tiny_model_dir, data)  # SST-2 and IMDB are missing
    extras = {k: v for k, v in bench_extras(tiny_model_dir, None).items() if v.is_file()}
    extras["extras/data/conll2003/test.txt.xz"] = data / "conll2003" / "test.txt"
    build_bundle(tmp_path / "b", tiny_model, tiny_tokenizer, DOCS, HELDOUT, "tiny", max_mib=1.0, extras=extras)
    manifest, paths = open_bundle([tmp_path / "b"])
    unpacked = unpack_data(paths, tmp_path / "unpacked")
    assert (unpacked / "conll2003" / "test.txt").read_text() == "John NNP B-NP B-PER\n\n"
    save_fp16_shards(tiny_model, tmp_path / "weights", {})
    folder = model_folder(manifest, paths, tmp_path / "weights", tmp_path / "model")
    model = AutoModelForMaskedLM.from_pretrained(folder).float().eval()
    paris = tiny_tokenizer.convert_tokens_to_ids("paris")
    assert AutoTokenizer.from_pretrained(folder).convert_tokens_to_ids("paris") == paris
    ids = torch.tensor([[2, 5, 6, 4, 3]])
    with torch.no_grad():
        torch.testing.assert_close(model(input_ids=ids).logits, tiny_model(input_ids=ids).logits, atol=5e-3, rtol=5e-3)
