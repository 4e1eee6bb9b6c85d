"""The project documents itself: docs/architecture.md exists, every section the code cites is in
it, every file it names is in the repository, and nothing points at a design file outside it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARCHITECTURE = ROOT / "docs" / "architecture.md"
CITED = re.compile(r"docs/architecture\.md §(\d+)")
NAMED_PATH = re.compile(
    r"`((?:handlers|service|automlops|localcloud|deploy|docker|tests|benchmarks|docs)/[\w./-]*\w/?)`"
)


def tracked_text_files() -> list[Path]:
    try:
        listed = subprocess.run(
            ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    suffixes = {".py", ".md", ".toml", ".tf", ".j2", ".sh", ".yml", ".yaml", ".txt"}
    return [ROOT / name for name in listed if Path(name).suffix in suffixes]


def sections() -> set[str]:
    return set(re.findall(r"^## (\d+)\. ", ARCHITECTURE.read_text(), flags=re.M))


def test_every_cited_section_of_the_architecture_exists() -> None:
    cited = {
        (path.relative_to(ROOT).as_posix(), number)
        for path in tracked_text_files()
        for number in CITED.findall(path.read_text(errors="replace"))
    }
    assert cited, "the code cites no section: is the pattern still right?"
    missing = sorted((where, n) for where, n in cited if n not in sections())
    assert missing == []


def test_no_file_points_at_a_design_file_outside_the_repository() -> None:
    outside = [
        path.relative_to(ROOT).as_posix()
        for path in tracked_text_files()
        if path != Path(__file__) and "DESIGN.md" in path.read_text(errors="replace")
    ]
    assert outside == []


@pytest.mark.parametrize("document", ["docs/architecture.md", "README.md", "deploy/README.md"])
def test_every_file_a_document_names_is_in_the_repository(document: str) -> None:
    named = set(NAMED_PATH.findall((ROOT / document).read_text()))
    assert named, f"{document} names no file: is the pattern still right?"
    missing = sorted(name for name in named if not (ROOT / name.rstrip("/")).exists())
    assert missing == []
