"""The README's two commands, .ci/run and the two dependency lists agree with each other."""

import re
import tomllib
from pathlib import Path

import helpers

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    return re.findall(r"```bash\n(.+?)\n```", (ROOT / "README.md").read_text())[:2]


def test_ci_runs_the_readme_commands_exactly():
    setup, test = readme_commands()
    install = setup.split(" && .venv/bin/jupyter lab")[0]
    assert setup.endswith(".venv/bin/jupyter lab --allow-root notebooks/")
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert install in ci_lines
    assert test in ci_lines
    assert ci_lines.index(test) > ci_lines.index(install)


def test_environment_yml_pins_the_same_packages_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pinned = set(project["dependencies"]) | set(project["optional-dependencies"]["test"])
    conda = {line.strip()[2:] for line in (ROOT / "environment.yml").read_text().splitlines()
             if line.strip().startswith("- ") and "==" in line and "python=" not in line}
    assert conda == pinned
    assert "torch==2.13.0" in pinned


def test_version_is_exposed():
    assert helpers.__version__ == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
