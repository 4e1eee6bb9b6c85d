"""`make demo`'s variables reach the command as one word each, whatever the file is called."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.skipif(shutil.which("make") is None, reason="no make on this machine")
def test_file_names_with_spaces_parentheses_and_quotes_are_one_word_each() -> None:
    variables = {
        "DATA": "my data (1).csv",
        "TARGET": "has churned",
        "DATASET": "churn",
        "RECIPE": "it's mine.toml",
    }
    dry = subprocess.run(
        ["make", "-n", "demo", *(f"{k}={v}" for k, v in variables.items())],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    command = dry.stdout[dry.stdout.index("automlops local --demo") :].replace("\\\n", " ")
    words = shlex.split(command.splitlines()[0])
    for flag, variable in (("--data", "DATA"), ("--target", "TARGET"), ("--recipe", "RECIPE")):
        assert words[words.index(flag) + 1] == variables[variable]
    assert words[words.index("--dataset") + 1] == "churn"


@pytest.mark.skipif(shutil.which("make") is None, reason="no make on this machine")
def test_verbose_shows_the_workers_lines_and_is_off_by_default() -> None:
    def words(*variables: str) -> list[str]:
        dry = subprocess.run(
            ["make", "-n", "demo", *variables], cwd=ROOT, capture_output=True, text=True, check=True
        )
        command = dry.stdout[dry.stdout.index("automlops local --demo") :].replace("\\\n", " ")
        return shlex.split(command.splitlines()[0])

    assert "--verbose" in words("VERBOSE=1")
    assert "--verbose" not in words()
