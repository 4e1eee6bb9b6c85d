"""The serving bundle: the model, the run's recipe and the project's own modules the entry
module imports (the same files preprocessing runs, not copies), nothing the image lacks."""

from __future__ import annotations

import ast
import io
import json
import sys
import tarfile
from pathlib import Path

import pytest
from served_models import RUN_ID, served_model

from handlers.serving import bundle
from service.failures import PermanentError

ROOT = Path(__file__).resolve().parents[3]
# What the sagemaker-xgboost 3.0-5 image offers serve-time code besides the standard library.
IMAGE_PACKAGES = {"numpy", "pandas", "xgboost", "scipy", "sklearn"}
# Standard-library modules Python 3.10 (the image's) does not have.
NEWER_THAN_310 = {"tomllib", "wsgiref.types"}


def members(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        return {
            m.name: archive.extractfile(m).read()  # type: ignore[union-attr]
            for m in archive.getmembers()
        }


def test_the_bundle_ships_the_encoder_preprocessing_runs_byte_for_byte() -> None:
    files = members(served_model("binary").bundle)
    encoder = (ROOT / "handlers/data/features.py").read_bytes()
    assert files["code/handlers/data/features.py"] == encoder
    for name, data in files.items():
        if name.startswith("code/") and name != f"code/{bundle.PROGRAM}":
            assert data == (ROOT / name.removeprefix("code/")).read_bytes(), name


def test_the_bundle_holds_the_model_the_recipe_and_the_program() -> None:
    served = served_model("multiclass")
    files = members(served.bundle)
    assert set(files) >= {"xgboost-model", "serving.json", "code/serve.py"}
    document = json.loads(files["serving.json"])
    assert document["run_id"] == RUN_ID
    assert document["recipe"]["document"] == served.document
    assert document["layout"] == [c for c in served.header if c != "segment"]
    with tarfile.open(fileobj=io.BytesIO(served.archive), mode="r:gz") as archive:
        assert files["xgboost-model"] == archive.extractfile("xgboost-model").read()  # type: ignore[union-attr]


def test_the_same_model_gives_the_same_bundle_bytes() -> None:
    assert served_model("regression").bundle == served_model("regression").bundle


def test_the_container_is_told_to_serve_the_bundles_program() -> None:
    assert bundle.environment() == {
        "SAGEMAKER_PROGRAM": "serve.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
    }


def test_the_shipped_code_imports_only_what_the_image_has() -> None:
    allowed = (set(sys.stdlib_module_names) - NEWER_THAN_310) | IMAGE_PACKAGES
    for name, data in bundle.code_files().items():
        # Module-level imports: one inside a function runs only when it is called (the reader's
        # TOML parser never is at serve time: the recipe arrives parsed).
        top_level = ast.parse(data).body
        imported = [a.name for n in top_level if isinstance(n, ast.Import) for a in n.names]
        imported += [n.module for n in top_level if isinstance(n, ast.ImportFrom) and n.module]
        for module in imported:
            top = module.split(".")[0]
            if top in bundle.OWN_PACKAGES:
                assert bundle.module_path(module) or bundle.module_path(module.rsplit(".", 1)[0])
                continue
            assert module not in NEWER_THAN_310, f"{name} imports {module}"
            assert top in allowed, f"{name} imports {module}"


def test_the_own_modules_imported_are_all_shipped() -> None:
    files = bundle.code_files()
    for data in files.values():
        for module in bundle.own_imports(data, "m"):
            assert bundle.module_path(module) in files, module


def test_a_model_archive_without_a_model_is_refused() -> None:
    empty = io.BytesIO()
    with tarfile.open(fileobj=empty, mode="w:gz"):
        pass
    served = bundle.Served("d", RUN_ID, "r.toml", {}, ["a"])
    with pytest.raises(PermanentError, match="no xgboost-model"):
        bundle.build(empty.getvalue(), served)
