"""tools/check_docs.py: the README's length and the words the tracked files must not use; the README's example runs."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import check_docs  # noqa: E402

# Built from pieces so that this file does not contain the phrases it checks for.
ISSUE_13 = "issue" + " 13"


def test_the_repository_passes_the_documentation_check():
    assert check_docs.readme_lines() <= check_docs.README_MAX_LINES
    assert check_docs.problems() == []


@pytest.mark.parametrize("text, what", [
    (f"as asked in {ISSUE_13}, the loader", "issue number"),
    ("fixed in Issue" + "  #7", "issue number"),
    ("see the issue" + " # above", "issue reference"),
    ("written in one ses" + "sion", "working period"),
    ("several ses" + "sions later", "working period"),
    ("trained on a le" + "nt GPU", "GPU said to be lent"),
])
def test_each_phrase_is_flagged(text, what):
    assert [(line, found) for line, found, _ in check_docs.flagged("first line\n" + text)] == [(2, what)]


@pytest.mark.parametrize("text", [
    "tissue 13 and issues in general",
    '@pytest.fixture(scope="ses' + 'sion")',
    "self.ses" + "sion = onnxruntime.InferenceSession(path)",
    "a silent GPU fallback",
])
def test_third_party_names_and_other_words_pass(text):
    assert check_docs.flagged(text) == []


def test_a_tracked_file_with_an_issue_number_or_a_long_readme_fails(tmp_path, capsys):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "README.md").write_text("# Title\n")
    (tmp_path / "notes.md").write_text(f"Done for {ISSUE_13}.\n")
    (tmp_path / "untracked.md").write_text(f"{ISSUE_13}\n")
    (tmp_path / "cells.ipynb").write_text(f'{{"source": "{ISSUE_13}"}}\n')
    subprocess.run(["git", "add", "README.md", "notes.md", "cells.ipynb"], cwd=tmp_path, check=True)
    assert check_docs.main([str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "README.md: 1 lines" in out and "notes.md:1: issue number" in out
    assert "untracked.md" not in out and "cells.ipynb" not in out

    (tmp_path / "notes.md").write_text("Done.\n")
    assert check_docs.main([str(tmp_path)]) == 0
    (tmp_path / "README.md").write_text("line\n" * (check_docs.README_MAX_LINES + 1))
    assert check_docs.main([str(tmp_path)]) == 1
    assert f"{check_docs.README_MAX_LINES + 1} lines, more than" in capsys.readouterr().out


def test_the_readme_example_runs_and_prints_a_class_per_review(capsys):
    blocks = re.findall(r"```python\n(.+?)\n```", (ROOT / "README.md").read_text(), flags=re.DOTALL)
    assert len(blocks) == 1 and len(blocks[0].splitlines()) <= 12
    exec(compile(blocks[0], "README.md example", "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert all(line.split()[0] in ("negative", "positive") for line in lines)
    assert lines[0].endswith("A gripping story with wonderful acting.")
