"""The Dockerfile builds the image the task definition expects: pinned, non-root, read-only-safe."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from automlops.compose import setting_names

ROOT = Path(__file__).resolve().parents[2]
PINNED_BASE = re.compile(r"^python:3\.\d+\.\d+-slim-(bookworm|trixie)(@sha256:[0-9a-f]{64})?$")


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]

    def last(self, keyword: str) -> str:
        found = self.all(keyword)
        assert found, f"stage {self.name} has no {keyword}"
        return found[-1]

    def env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for args in self.all("ENV"):
            for pair in shlex.split(args):
                key, _, value = pair.partition("=")
                values[key] = value
        return values


def instructions(text: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", text)
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, args = line.partition(" ")
        found.append((keyword.upper(), args.strip()))
    return found


def stages() -> dict[str, Stage]:
    parsed: dict[str, Stage] = {}
    current: Stage | None = None
    for keyword, args in instructions((ROOT / "Dockerfile").read_text()):
        if keyword == "FROM":
            match = re.fullmatch(r"(\S+) AS (\S+)", args, re.IGNORECASE)
            assert match, f"every stage is named: FROM {args}"
            current = Stage(match.group(2), match.group(1))
            parsed[current.name] = current
        elif current is not None:
            current.instructions.append((keyword, args))
    return parsed


@pytest.fixture(scope="module")
def built() -> dict[str, Stage]:
    return stages()


def test_the_default_target_is_the_runtime_stage(built: dict[str, Stage]) -> None:
    assert list(built)[-1] == "runtime"


def test_every_base_image_is_pinned(built: dict[str, Stage]) -> None:
    for stage in built.values():
        if stage.base in built:
            continue  # built on an earlier stage
        assert PINNED_BASE.match(stage.base), f"{stage.name}: unpinned base {stage.base}"
    bases = {s.base for s in built.values() if s.base not in built}
    assert len(bases) == 1, "the venv's interpreter links need the same Python in every stage"


def test_uv_is_pinned_and_matches_the_makefile(built: dict[str, Stage]) -> None:
    builder = built["builder"]
    match = re.search(
        r"ARG UV_VERSION=(\d+\.\d+\.\d+)", "\n".join(f"ARG {a}" for a in builder.all("ARG"))
    )
    assert match, "the builder pins uv with ARG UV_VERSION=x.y.z"
    assert any('"uv==${UV_VERSION}"' in run for run in builder.all("RUN"))
    makefile = ROOT / "Makefile"
    if makefile.exists():
        pinned = re.search(r"^UV_VERSION\s*:?=\s*(\S+)", makefile.read_text(), re.MULTILINE)
        if pinned:
            assert pinned.group(1) == match.group(1), "Dockerfile and Makefile pin different uv"


def test_the_runtime_venv_has_no_local_extra(built: dict[str, Stage]) -> None:
    syncs = [run for run in built["builder"].all("RUN") if "uv sync" in run]
    assert syncs
    for run in syncs:
        for flag in ("--frozen", "--no-dev", "--no-editable"):
            assert flag in run, f"{flag} missing from: {run}"
        assert "--extra" not in run
        assert "--all-extras" not in run
    copies = built["runtime"].all("COPY")
    assert copies == ["--from=builder /app/.venv /app/.venv"]


def test_the_local_extra_is_only_in_the_emulator_image(built: dict[str, Stage]) -> None:
    assert any("--extra local" in run for run in built["local-builder"].all("RUN"))
    assert "--from=local-builder /app/.venv /app/.venv" in built["local"].all("COPY")


@pytest.mark.parametrize("stage_name", ["runtime", "local"])
def test_runs_as_a_non_root_user(built: dict[str, Stage], stage_name: str) -> None:
    user = built[stage_name].last("USER")
    assert user == "10001:10001"  # the same uid:gid as the task definition and compose


def test_runtime_healthcheck_entrypoint_and_command(built: dict[str, Stage]) -> None:
    runtime = built["runtime"]
    healthcheck = runtime.last("HEALTHCHECK")
    assert healthcheck.endswith('CMD ["automlops", "healthcheck"]')
    assert json.loads(runtime.last("ENTRYPOINT")) == ["automlops"]
    assert json.loads(runtime.last("CMD")) == ["worker"]


def test_runtime_writes_only_to_the_tmp_volume(built: dict[str, Stage]) -> None:
    runtime = built["runtime"]
    env = runtime.env()
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["HOME"].startswith("/tmp")
    assert env["AUTOMLOPS_HEALTH_FILE"] == "/tmp/automlops/health"
    assert env["AUTOMLOPS_WORK_DIR"] == "/tmp/automlops/work"
    assert json.loads(runtime.last("VOLUME")) == ["/tmp"]
    names = set(setting_names())
    assert {k for k in env if k.startswith("AUTOMLOPS_")} <= names


def test_dockerignore_keeps_the_context_small() -> None:
    patterns = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for excluded in (
        ".git",
        ".venv",
        "tests",
        "data",
        ".pytest_cache",
        ".mypy_cache",
        "**/__pycache__",
    ):
        assert excluded in patterns, excluded
    for needed in ("pyproject.toml", "uv.lock", "automlops", "service", "handlers", "localcloud"):
        assert needed not in patterns, needed
    assert "!README.md" in patterns  # hatchling reads it while building the wheel
