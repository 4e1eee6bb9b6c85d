"""The entry module of a model's serving bundle: the XGBoost container's script-mode contract.

The container (sagemaker-xgboost 3.0-5, script mode) calls `model_fn(model_dir)` once per server
worker, then for each request `input_fn(body, content_type)`, `predict_fn(data, model)` and
`output_fn(prediction, accept)`. It turns any exception into a bare 500 page without a message,
so a client's mistake is never raised: it travels to `output_fn` as a `Refused`, which answers
with a 4xx status and a JSON body naming the row, column and value. The answer is a WSGI
application (`Answer`), which the container's Flask server sends with its own status and headers.

Rows are encoded by `handlers.data.features.encode_features`, the function preprocessing uses to
write the training files: the bundle ships that module, never a copy. Only the standard library,
numpy, pandas and xgboost are imported (what the image has, on Python 3.10).
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

from handlers.data.features import encode_features
from handlers.data.validation import REQUEST, ValidationFailure
from handlers.recipe.model import Recipe
from handlers.recipe.reader import recipe_of
from handlers.serving import answers
from handlers.serving.answers import Identity
from handlers.serving.requests import CSV, JSON, Refused, RequestRefused, as_csv

MODEL_FILE = "xgboost-model"
SERVING_FILE = "serving.json"
# Set in the environment of the model the live endpoint serves (the version is registered after
# the run's own endpoint is evaluated, so the bundle itself cannot know it).
VERSION_VARIABLE = "AUTOMLOPS_MODEL_VERSION"


@dataclass(frozen=True)
class ServedModel:
    booster: xgb.Booster
    recipe: Recipe
    layout: tuple[str, ...]  # a headerless CSV row's columns: the upload's, without the label
    identity: Identity


@dataclass(frozen=True)
class Request:
    body: str | bytes
    content_type: str


@dataclass(frozen=True)
class Prediction:
    model: ServedModel
    scores: np.ndarray


@dataclass(frozen=True)
class Answer:
    """An HTTP answer as a WSGI application: the one return value the container sends with any
    status (a tuple is always 200, a raised error always a bare 500)."""

    status: int
    body: bytes
    content_type: str
    attributes: str | None = None

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        headers = [("Content-Type", self.content_type), ("Content-Length", str(len(self.body)))]
        if self.attributes:
            headers.append(("X-Amzn-SageMaker-Custom-Attributes", self.attributes))
        start_response(f"{self.status} {HTTPStatus(self.status).phrase}", headers)
        return [self.body]


def model_fn(model_dir: str) -> ServedModel:
    folder = Path(model_dir)
    serving = json.loads((folder / SERVING_FILE).read_text(encoding="utf-8"))
    booster = xgb.Booster()
    booster.load_model(str(folder / MODEL_FILE))
    return ServedModel(
        booster=booster,
        recipe=recipe_of(serving["recipe"]["document"], serving["recipe"]["source"]),
        layout=tuple(serving["layout"]),
        identity=Identity(serving["dataset"], serving["run_id"], _version()),
    )


def _version() -> int | None:
    value = os.environ.get(VERSION_VARIABLE, "")
    return int(value) if value.isdigit() else None


def input_fn(input_data: str | bytes, content_type: str) -> Request:
    # The recipe that reads the rows is the model's, which only predict_fn is given.
    return Request(input_data, content_type)


def predict_fn(data: Request, model: ServedModel) -> Prediction | Refused:
    try:
        features = encoded(data, model)
    except RequestRefused as refused:
        return refused.refused
    except ValidationFailure as bad:
        return Refused(400, bad.message, bad.row, bad.column, bad.value)
    scores = model.booster.predict(xgb.DMatrix(features), validate_features=False)
    return Prediction(model, scores)


def output_fn(prediction: Prediction | Refused, accept: str) -> Answer:
    if isinstance(prediction, Refused):
        return Answer(prediction.status, _json(prediction.to_dict()), JSON)
    media = answers.chosen_media(accept)
    if media is None:
        refused = Refused(406, f"cannot answer as {accept!r}: accept application/json or text/csv")
        return Answer(406, _json(refused.to_dict()), JSON)
    model = prediction.model
    if media == CSV:
        body = answers.as_csv(model.recipe, prediction.scores)
    else:
        body = answers.as_json(model.recipe, prediction.scores, model.identity)
    return Answer(200, body, media, model.identity.attributes())


def encoded(data: Request, model: ServedModel) -> np.ndarray:
    """The request's rows as the feature matrix the model was trained on."""
    raw = as_csv(data.body, data.content_type, model.recipe, model.layout)
    blob = b"".join(encode_features(io.BytesIO(raw), model.recipe, file=REQUEST))
    return np.loadtxt(io.BytesIO(blob), delimiter=",", dtype=np.float64, ndmin=2)


def _json(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode("utf-8")
