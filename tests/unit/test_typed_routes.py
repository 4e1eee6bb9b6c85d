"""A route whose handler takes another message type than the route's fails type-checking."""

from __future__ import annotations

from pathlib import Path

from mypy import api

ROOT = Path(__file__).resolve().parents[2]
SNIPPET = """
from handlers.stages import preprocess, train
from handlers.messages import DataUploaded
from service.routing import Route

good = Route(DataUploaded, preprocess.handle, preprocess.STAGE)
bad = Route(DataUploaded, train.handle, train.STAGE)
"""


def test_mypy_refuses_a_handler_of_another_message_type(tmp_path: Path) -> None:
    snippet = tmp_path / "routes_snippet.py"
    snippet.write_text(SNIPPET)
    report, _, status = api.run(
        [
            "--strict",
            "--no-error-summary",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--config-file",
            str(ROOT / "pyproject.toml"),
            str(snippet),
        ]
    )
    errors = [line for line in report.splitlines() if ": error:" in line]
    assert status == 1, report
    assert len(errors) == 1, report  # the good route passes, the bad one does not
    assert ":7:" in errors[0], report  # the line of `bad`
    assert "TrainRequested" in errors[0], report
