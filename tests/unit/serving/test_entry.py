"""The serving bundle's entry module, called as the container calls it: raw rows in any of the
three forms give exactly the model's scores on the rows preprocessing encodes; a client's
mistake is a 4xx answer naming what is wrong, never an exception (the container would turn it
into a bare 500)."""

from __future__ import annotations

import csv
import io
import json
import random
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from csv_rows import as_csv, rows_of
from served_models import RUN_ID, ServedModel, served_model

from handlers.serving import bundle, entry

KINDS = ("binary", "multiclass", "regression")


@cache
def model_of(kind: str) -> ServedModel:
    return served_model(kind)


def loaded(kind: str, tmp_path: Path) -> entry.ServedModel:
    return entry.model_fn(str(model_of(kind).unpack(tmp_path)))


def call(
    model: entry.ServedModel, body: str | bytes, content_type: str, accept: str = "application/json"
) -> tuple[int, str, bytes, dict[str, str]]:
    answer = entry.output_fn(entry.predict_fn(entry.input_fn(body, content_type), model), accept)
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen.update(status=int(status.split()[0]), headers=dict(headers))

    body_out = b"".join(answer({}, start_response))
    headers = seen["headers"]
    return seen["status"], headers["Content-Type"], body_out, headers


def shuffled_with_extra(served: ServedModel, rows: int, seed: int) -> str:
    """The upload's first rows, columns shuffled, the label kept and a column the model ignores."""
    table = rows_of(served.raw)[: rows + 1]
    order = list(range(len(table[0])))
    random.Random(seed).shuffle(order)
    shuffled = [[row[i] for i in order] for row in table]
    return as_csv([[*shuffled[0], "client_ref"]] + [[*r, "x"] for r in shuffled[1:]]).decode()


def headerless(served: ServedModel, rows: int) -> str:
    table = rows_of(served.raw)[: rows + 1]
    label = table[0].index(served.target)
    return as_csv([[c for i, c in enumerate(row) if i != label] for row in table[1:]]).decode()


def instances(served: ServedModel, rows: int) -> str:
    table = rows_of(served.raw)[: rows + 1]
    numeric = set(served.recipe.numeric)
    items = [
        {k: (float(v) if k in numeric else v) for k, v in zip(table[0], row, strict=True)}
        for row in table[1:]
    ]
    return json.dumps({"instances": items})


def scores_of(kind: str, body: bytes) -> np.ndarray:
    predictions = json.loads(body)["predictions"]
    if kind == "binary":
        return np.array([p["probability"] for p in predictions])
    if kind == "multiclass":
        return np.array([list(p["probabilities"].values()) for p in predictions])
    return np.array([p["value"] for p in predictions])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("form", ["csv-header", "csv-headerless", "json"])
def test_raw_rows_score_exactly_as_the_encoded_rows(kind: str, form: str, tmp_path: Path) -> None:
    served, rows = model_of(kind), 40
    body, media = {
        "csv-header": (shuffled_with_extra(served, rows, seed=7), "text/csv"),
        "csv-headerless": (headerless(served, rows), "text/csv"),
        "json": (instances(served, rows), "application/json"),
    }[form]
    status, content_type, answer, headers = call(loaded(kind, tmp_path), body, media)
    assert (status, content_type) == (200, "application/json")
    model = {"dataset": served.recipe.name, "version": None, "run_id": RUN_ID}
    assert json.loads(answer)["model"] == model
    assert headers["X-Amzn-SageMaker-Custom-Attributes"] == (
        f"dataset={served.recipe.name},run_id={RUN_ID}"
    )
    expected = served.scores()[:rows].astype(np.float64)
    assert np.array_equal(scores_of(kind, answer), expected)


def test_a_model_created_for_a_version_names_it_in_every_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The live endpoint's model has the version in its environment (bundle.environment)."""
    served = model_of("binary")
    monkeypatch.setenv(entry.VERSION_VARIABLE, bundle.environment(7)[entry.VERSION_VARIABLE])
    status, _, answer, headers = call(loaded("binary", tmp_path), headerless(served, 3), "text/csv")
    assert status == 200
    assert json.loads(answer)["model"] == {
        "dataset": served.recipe.name,
        "version": 7,
        "run_id": RUN_ID,
    }
    assert headers["X-Amzn-SageMaker-Custom-Attributes"] == (
        f"dataset={served.recipe.name},version=7,run_id={RUN_ID}"
    )


@pytest.mark.parametrize("kind", KINDS)
def test_csv_answers_add_the_prediction_columns(kind: str, tmp_path: Path) -> None:
    served = model_of(kind)
    status, content_type, answer, _ = call(
        loaded(kind, tmp_path), headerless(served, 5), "text/csv", accept="text/csv"
    )
    table = list(csv.reader(io.StringIO(answer.decode())))
    assert (status, content_type) == (200, "text/csv")
    assert tuple(table[0]) == served.recipe.target.prediction_columns()
    assert len(table) == 6
    scores = served.scores()[:5].astype(np.float64)
    if kind == "regression":
        assert [float(r[0]) for r in table[1:]] == scores.tolist()
    elif kind == "binary":
        assert [float(r[1]) for r in table[1:]] == scores.tolist()
        names = served.recipe.target.class_names()
        assert [r[0] for r in table[1:]] == [names[int(p > 0.5)] for p in scores]
    else:
        assert [[float(v) for v in r[1:]] for r in table[1:]] == scores.tolist()
        names = served.recipe.target.class_names()
        assert [r[0] for r in table[1:]] == [names[int(np.argmax(p))] for p in scores]


def test_a_bad_value_is_a_400_naming_row_column_and_value(tmp_path: Path) -> None:
    served = model_of("binary")
    table = rows_of(served.raw)[:4]
    table[2][table[0].index("age")] = "forty"
    status, content_type, answer, _ = call(loaded("binary", tmp_path), as_csv(table), "text/csv")
    refusal = json.loads(answer)
    assert (status, content_type) == (400, "application/json")
    assert (refusal["row"], refusal["column"], refusal["value"]) == (2, "age", "forty")
    assert "number" in refusal["message"]


def test_an_unseen_category_follows_the_recipes_unknown_rule(tmp_path: Path) -> None:
    served = model_of("binary")  # bank-marketing: unknown values are an error
    table = rows_of(served.raw)[:3]
    table[1][table[0].index("marital")] = "widowed"
    status, _, answer, _ = call(loaded("binary", tmp_path), as_csv(table), "text/csv")
    refusal = json.loads(answer)
    assert status == 400
    assert (refusal["row"], refusal["column"], refusal["value"]) == (1, "marital", "widowed")


def test_a_missing_column_is_named(tmp_path: Path) -> None:
    served = model_of("binary")
    table = rows_of(served.raw)[:3]
    drop = table[0].index("job")
    body = as_csv([[c for i, c in enumerate(r) if i != drop] for r in table])
    status, _, answer, _ = call(loaded("binary", tmp_path), body, "text/csv")
    assert status == 400
    assert "job" in json.loads(answer)["message"]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("{", "not valid JSON"),
        ('{"rows": []}', "instances"),
        ('{"instances": [1]}', "object"),
        ('{"instances": [{"age": 30}]}', "no such key"),
    ],
)
def test_bad_json_is_a_400_saying_what_is_wrong(body: str, problem: str, tmp_path: Path) -> None:
    status, _, answer, _ = call(loaded("binary", tmp_path), body, "application/json")
    assert status == 400
    assert problem in json.loads(answer)["message"]


def test_a_json_value_of_the_wrong_type_names_its_instance_and_column(tmp_path: Path) -> None:
    served = model_of("binary")
    document = json.loads(instances(served, 3))
    document["instances"][1]["job"] = ["admin."]
    status, _, answer, _ = call(
        loaded("binary", tmp_path), json.dumps(document), "application/json"
    )
    refusal = json.loads(answer)
    assert status == 400
    assert (refusal["row"], refusal["column"]) == (2, "job")


def test_media_types_the_model_does_not_speak(tmp_path: Path) -> None:
    model = loaded("binary", tmp_path)
    rows = headerless(model_of("binary"), 2)
    assert call(model, rows, "text/plain")[0] == 415
    assert call(model, rows, "text/csv", accept="image/png")[0] == 406
    assert call(model, rows, "text/csv", accept="text/csv, */*")[1] == "text/csv"
    assert call(model, rows, "text/csv; charset=utf-8", accept="*/*")[1] == "application/json"


def test_an_empty_request_is_a_400(tmp_path: Path) -> None:
    status, _, answer, _ = call(loaded("binary", tmp_path), "", "text/csv")
    assert status == 400
    assert "no rows" in json.loads(answer)["message"]


@pytest.mark.parametrize("kind", KINDS)
def test_requests_are_cut_so_that_the_answer_fits_under_the_limit(
    kind: str, tmp_path: Path
) -> None:
    from handlers.serving import answers

    served = model_of(kind)
    limit = 4096
    rows = answers.rows_within(served.recipe, limit)
    body = headerless(served, rows)
    _, _, answer, _ = call(loaded(kind, tmp_path), body, "text/csv", accept="text/csv")
    assert len(answer) <= limit
    assert answer.count(b"\n") == rows + 1
