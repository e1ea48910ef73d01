"""Check the documentation: the README's length, and tracked files that speak of anything but the project.

    python tools/check_docs.py          # prints the README's line count and any problem; exit 1 on a problem

Fails when README.md is longer than ``README_MAX_LINES``, or when a tracked text file
(notebooks excluded: their cells are checked apart) contains one of ``PATTERNS``: an issue
number, the word for a working period of the people who built the project, or a GPU said to
be lent. A few third-party names that contain one of the words are allowed (``ALLOWED``).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README_MAX_LINES = 150
PATTERNS = {
    "issue number": re.compile(r"\bissue\s+(?:#\s*)?\d+", re.IGNORECASE),
    "issue reference": re.compile(r"\bissue\s*#(?!\s*\d)", re.IGNORECASE),
    "working period": re.compile(r"\bsessions?\b", re.IGNORECASE),
    "GPU said to be lent": re.compile(r"\blent\s+GPUs?\b", re.IGNORECASE),
}
# Third-party API names that contain a flagged word: pytest's fixture scope and the attribute
# holding ONNX Runtime's inference object (the "[s]" keeps this line from matching itself).
ALLOWED = re.compile(r"""scope=["']ses[s]ion["']|self\.ses[s]ion\b""")
SKIPPED_SUFFIXES = (".ipynb",)


def flagged(text: str) -> list[tuple[int, str, str]]:
    """``(line number, what, matched text)`` for every flagged phrase in ``text``."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = ALLOWED.sub("", line)
        for what, pattern in PATTERNS.items():
            found += [(number, what, m.group(0)) for m in pattern.finditer(line)]
    return found


def tracked_files(root: Path = ROOT) -> list[Path]:
    """The git-tracked files under ``root``, notebooks left out."""
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as err:
        raise SystemExit(f"check_docs: cannot list the tracked files of {root} ({err}); "
                         "run it inside a git checkout") from err
    names = [n for n in out.decode().split("\0") if n]
    return [root / n for n in names if not n.endswith(SKIPPED_SUFFIXES) and (root / n).is_file()]


def readme_lines(root: Path = ROOT) -> int:
    """Number of lines of ``root/README.md``."""
    return len((root / "README.md").read_text(encoding="utf-8").splitlines())


def problems(root: Path = ROOT) -> list[str]:
    """Every problem as ``path:line: what: matched text``; empty when the documentation passes."""
    found = []
    if (n := readme_lines(root)) > README_MAX_LINES:
        found.append(f"README.md: {n} lines, more than {README_MAX_LINES}")
    for path in tracked_files(root):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:  # weights and other binary files
            continue
        found += [f"{path.relative_to(root)}:{line}: {what}: {match!r}" for line, what, match in flagged(text)]
    return found


def main(argv: list[str] | None = None) -> int:
    root = Path(argv[0]) if argv else ROOT
    print(f"README.md: {readme_lines(root)} lines (at most {README_MAX_LINES})")
    found = problems(root)
    for problem in found:
        print(problem)
    if found:
        print(f"{len(found)} problem(s): say what the project does, not how or by whom it was built")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
