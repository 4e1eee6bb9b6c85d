"""Deferred stage handlers: each route reaches the right function, start-up imports none of the
stages' libraries, and the warm-up imports all of them."""

from __future__ import annotations

import importlib
import inspect
import json
import subprocess
import sys
import typing
from pathlib import Path

import pytest
import structlog
import structlog.testing

from handlers.routes import ROUTES, WARM_UP
from service.routing import deferred, deferred_target, modules_of
from service.warmup import Warmup

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "numpy", "scipy", "sklearn", "matplotlib", "jinja2", "xgboost")


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.message.TYPE)
def test_each_route_reaches_a_handler_of_its_message_and_its_stage(route: typing.Any) -> None:
    target = deferred_target(route.handler)
    assert target is not None
    module = importlib.import_module(target[0])
    handler = getattr(module, target[1])
    first = next(iter(inspect.signature(handler).parameters))
    assert typing.get_type_hints(handler)[first] is route.message
    assert route.stage == module.STAGE  # the name the run manifest records


def test_a_deferred_handler_imports_its_module_on_the_first_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "stage_late.py").write_text("def handle(msg, ctx):\n    return [msg]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    handle = deferred("stage_late", "handle")
    assert handle.__module__ == "stage_late"
    assert "stage_late" not in sys.modules
    assert handle("m", None) == ["m"]  # type: ignore[arg-type,comparison-overlap]
    assert "stage_late" in sys.modules
    monkeypatch.delitem(sys.modules, "stage_late")


SCRIPT = """
import json, sys
from automlops.compose import Config, compose
env = {
    "AUTOMLOPS_INGEST_QUEUE_URL": "http://127.0.0.1:9/q/ingest",
    "AUTOMLOPS_STAGES_QUEUE_URL": "http://127.0.0.1:9/q/stages",
    "AUTOMLOPS_RAW_BUCKET": "r", "AUTOMLOPS_CURATED_BUCKET": "c",
    "AUTOMLOPS_MODELS_BUCKET": "m", "AUTOMLOPS_REPORTS_BUCKET": "p",
    "AUTOMLOPS_SAGEMAKER_ROLE_ARN": "arn:aws:iam::123456789012:role/r",
    "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
}
app = compose(Config.from_env(env))
heavy = %r
at_start = [m for m in heavy if m in sys.modules]
app.warmup.start()
assert app.warmup.wait(120)
print(json.dumps({"at_start": at_start, "warmed": [m for m in heavy if m in sys.modules]}))
"""


def test_the_composed_worker_loads_no_heavy_library_until_the_warm_up() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT % (HEAVY,)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    ).stdout
    found = json.loads(out.splitlines()[-1])
    assert found["at_start"] == []
    assert found["warmed"] == list(HEAVY)


def test_the_health_check_imports_nothing_heavy() -> None:
    code = "import sys; from automlops import cli; print([m for m in %r if m in sys.modules])"
    out = subprocess.run(
        [sys.executable, "-c", code % (HEAVY,)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == "[]"


def test_the_warm_up_names_a_module_that_fails_and_still_finishes() -> None:
    warmup = Warmup(["json", "no_such_module_here"])
    with structlog.testing.capture_logs() as logs:
        warmup.start()
        warmup.start()  # once only
        assert warmup.wait(10)
    [entry] = logs
    assert entry["event"] == "worker.warm_up_failed"
    assert "no_such_module_here: ModuleNotFoundError" in entry["error"]


def test_the_warm_up_covers_every_stage_module() -> None:
    modules = modules_of(ROUTES)
    assert len(modules) == 9  # promote's three routes share one module
    assert all(m.startswith("handlers.") for m in modules)
    assert set(WARM_UP).isdisjoint(modules)
