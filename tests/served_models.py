"""Small trained models of each task kind with their serving bundles, for the serving tests.

Each model is trained here with xgboost on the rows preprocessing writes, and packed as the
training job would (`model.tar.gz` holding `xgboost-model`), then bundled as deploy bundles it.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

from handlers.data.draft import draft_recipe
from handlers.data.features import transform_csv
from handlers.data.synthetic import generate
from handlers.data.synthetic_tasks import generate_prices, generate_segments
from handlers.recipe.model import Recipe
from handlers.recipe.reader import packaged_recipe_bytes, parse_toml, recipe_of
from handlers.serving import bundle
from localcloud.sagemaker import artifacts

RUN_ID = "20261207-0a1b2c3d4e"
TARGETS = {"binary": "y", "multiclass": "segment", "regression": "price"}


@dataclass(frozen=True)
class ServedModel:
    kind: str
    raw: bytes  # the upload, with its label
    recipe: Recipe
    document: dict[str, Any]
    booster: xgb.Booster
    features: np.ndarray  # what preprocessing wrote for `raw`, without the label
    archive: bytes  # the training job's model.tar.gz
    bundle: bytes

    @property
    def target(self) -> str:
        return self.recipe.target.column

    @property
    def header(self) -> list[str]:
        return self.raw.split(b"\n", 1)[0].decode().split(",")

    def scores(self) -> np.ndarray:
        return self.booster.predict(xgb.DMatrix(self.features), validate_features=False)

    def unpack(self, folder: Path) -> Path:
        """The bundle extracted as the container sees it in /opt/ml/model."""
        with tarfile.open(fileobj=io.BytesIO(self.bundle), mode="r:gz") as archive:
            archive.extractall(folder, filter="data")
        return folder


def served_model(kind: str, rows: int = 600, rounds: int = 15) -> ServedModel:
    raw, document, source = _upload(kind, rows)
    recipe = recipe_of(document, source)
    sink = io.BytesIO()
    transform_csv(io.BytesIO(raw), sink, recipe, file="upload.csv")
    table = np.loadtxt(io.BytesIO(sink.getvalue()), delimiter=",", skiprows=1, ndmin=2)
    params = {k: v for k, v in recipe.hyperparameter_dict().items() if k != "num_round"}
    booster = xgb.train(params, xgb.DMatrix(table[:, 1:], label=table[:, 0]), rounds)
    archive = artifacts.pack(booster)  # as the training job writes it
    header = raw.split(b"\n", 1)[0].decode().split(",")
    served = bundle.Served(
        dataset=recipe.name,
        run_id=RUN_ID,
        recipe_source=source,
        recipe_document=document,
        layout=[c for c in header if c != recipe.target.column],
    )
    return ServedModel(
        kind, raw, recipe, document, booster, table[:, 1:], archive, bundle.build(archive, served)
    )


def _upload(kind: str, rows: int) -> tuple[bytes, dict[str, Any], str]:
    sink = io.BytesIO()
    if kind == "binary":
        generate(sink, rows, seed=21)
        data, source = packaged_recipe_bytes("bank-marketing")
        return sink.getvalue(), parse_toml(data, source), source
    make: Callable[..., object] = generate_segments if kind == "multiclass" else generate_prices
    make(sink, rows, seed=22)
    body = sink.getvalue()
    text = draft_recipe(io.BytesIO(body), file="d.csv", dataset=kind, target=TARGETS[kind]).text
    source = f"recipes/{kind}.toml"
    return body, parse_toml(text.encode(), source), source
