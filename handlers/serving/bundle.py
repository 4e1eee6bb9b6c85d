"""The serving bundle: the model archive a deployed model is created from.

It holds the training job's `xgboost-model`, `serving.json` (the run's dataset and id, its frozen
recipe as a parsed document, and the layout of a headerless row) and `code/`: the entry module
`serve.py` and the project's own modules it imports, as files of this worker (the encoder
preprocessing ran, not a copy). The model is created with `SAGEMAKER_PROGRAM=serve.py` and
`SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code`: the container copies that folder to
`/opt/ml/code`, installs it and imports `serve` (docs/architecture.md §8).

The archive's name must not end in `model.tar.gz`: the models bucket announces those as trained
models, and a bundle is not one.
"""

from __future__ import annotations

import ast
import gzip
import io
import json
import tarfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import util
from pathlib import Path
from typing import Any

from handlers.serving.entry import MODEL_FILE, SERVING_FILE, VERSION_VARIABLE
from service.failures import PermanentError

ENTRY_MODULE = "handlers.serving.entry"
PROGRAM = "serve.py"
SUBMIT_DIRECTORY = "/opt/ml/model/code"
# The packages whose modules travel with the entry module; everything else it imports must be in
# the image (the standard library, numpy, pandas, xgboost).
OWN_PACKAGES = ("handlers", "service")
_PROGRAM_TEXT = (
    '"""The serving bundle\'s program: the container imports the four functions from here."""\n\n'
    f"from {ENTRY_MODULE} import input_fn, model_fn, output_fn, predict_fn\n\n"
    '__all__ = ["input_fn", "model_fn", "output_fn", "predict_fn"]\n'
)


def environment(version: int | None = None) -> dict[str, str]:
    """What the container reads to serve the bundle in script mode (serving.py, v3.0-5), and
    for a registered version the number its answers name."""
    found = {"SAGEMAKER_PROGRAM": PROGRAM, "SAGEMAKER_SUBMIT_DIRECTORY": SUBMIT_DIRECTORY}
    if version is not None:
        found[VERSION_VARIABLE] = str(version)
    return found


@dataclass(frozen=True)
class Served:
    """What a bundle says about its model."""

    dataset: str
    run_id: str
    recipe_source: str
    recipe_document: Mapping[str, Any]
    layout: Sequence[str]  # a headerless row's columns

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "run_id": self.run_id,
            "recipe": {"source": self.recipe_source, "document": dict(self.recipe_document)},
            "layout": list(self.layout),
        }


def build(model_archive: bytes, served: Served) -> bytes:
    """The bundle of the training job's `model.tar.gz`, as gzip-compressed tar bytes."""
    booster = _model_file(model_archive)
    out = io.BytesIO()
    # mtime 0 and sorted members: the same model and code give the same bytes (a redelivery
    # uploads an identical object).
    with (
        gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as packed,
        tarfile.open(fileobj=packed, mode="w", format=tarfile.PAX_FORMAT) as archive,
    ):
        _add(archive, MODEL_FILE, booster)
        _add(archive, SERVING_FILE, json.dumps(served.to_dict(), indent=1).encode())
        _add(archive, f"code/{PROGRAM}", _PROGRAM_TEXT.encode())
        for name, data in sorted(code_files().items()):
            _add(archive, f"code/{name}", data)
    return out.getvalue()


@cache
def code_files() -> dict[str, bytes]:
    """The entry module and every module of our own packages it imports, at any depth, with
    their packages' `__init__.py`: {path in the bundle: source bytes}."""
    files: dict[str, bytes] = {}
    pending = [ENTRY_MODULE]
    while pending:
        name = pending.pop()
        relative = module_path(name)
        if relative is None or relative in files:
            continue
        data = (_root_of(name) / relative).read_bytes()
        files[relative] = data
        pending.extend(_packages_of(name))
        pending.extend(own_imports(data, name))
    return files


def own_imports(source: bytes, module: str) -> Iterator[str]:
    """The modules of our own packages that `source` (module `module`) imports."""
    for node in ast.walk(ast.parse(source, filename=module)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from handlers.serving import answers` imports a module; `from x import f`, a name.
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        else:
            continue
        yield from (name for name in names if module_path(name) is not None)


def module_path(name: str) -> str | None:
    """`handlers/data/features.py` for a module of our packages (a package: its `__init__.py`);
    None for anything else, a name imported from a module included."""
    if name.split(".")[0] not in OWN_PACKAGES:
        return None
    folder = name.replace(".", "/")
    for relative in (f"{folder}.py", f"{folder}/__init__.py"):
        if (_root_of(name) / relative).is_file():
            return relative
    return None


def _root_of(name: str) -> Path:
    """The folder holding the top-level package of `name`."""
    spec = util.find_spec(name.split(".")[0])
    if spec is None or not spec.submodule_search_locations:
        raise PermanentError(f"serving bundle: package {name.split('.')[0]} is not installed")
    return Path(next(iter(spec.submodule_search_locations))).parent


def _packages_of(name: str) -> Iterator[str]:
    parts = name.split(".")
    for end in range(1, len(parts)):
        yield ".".join(parts[:end])


def _model_file(model_archive: bytes) -> bytes:
    try:
        with tarfile.open(fileobj=io.BytesIO(model_archive), mode="r:*") as archive:
            member = archive.extractfile(MODEL_FILE)
            if member is not None:
                return member.read()
    except (tarfile.TarError, KeyError, EOFError, OSError):
        pass
    raise PermanentError(f"the training job's model archive has no {MODEL_FILE} file")


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    archive.addfile(info, io.BytesIO(data))
