"""The live endpoint's input contract, through the whole pipeline on both AWSs: every endpoint
takes raw rows, so a champion trained on another recipe is scored on the challenger's raw test
rows; a better challenger that needs a column the live version does not read waits for an
operator, the reason naming the column; the runs and the registry record each version's columns.
"""

from __future__ import annotations

import io
from typing import Any

from pipeline_harness import Pipeline

from handlers.data.synthetic import generate
from handlers.naming import DatasetNames, RunPaths
from handlers.recipe.reader import packaged_recipe_bytes

DATASET = "contract"
READS = ["age", "campaign", "pdays", "previous"]
DROPPED = [
    "duration",
    "emp.var.rate",
    "cons.price.idx",
    "cons.conf.idx",
    "euribor3m",
    "nr.employed",
]


def recipe(numeric: list[str]) -> bytes:
    """bank-marketing's recipe under this dataset's name, with `numeric` for its numeric
    columns (the file's other numeric columns dropped) and a floor any model reaches."""
    text = packaged_recipe_bytes("bank-marketing")[0].decode()
    text = text.replace('name = "bank-marketing"', f'name = "{DATASET}"')
    text = text.replace(f"numeric = {_listed(READS)}", f"numeric = {_listed(numeric)}")
    start = text.index("drop = [")
    end = text.index("]", start) + 1
    dropped = [column for column in DROPPED if column not in numeric]
    text = text[:start] + f"drop = {_listed(dropped)}" + text[end:]
    text = text[: text.index("[promotion]")] + "[promotion]\nfloors = { roc_auc = 0.0 }\n"
    return text.encode()


def _listed(names: list[str]) -> str:
    return "[" + ", ".join(f'"{name}"' for name in names) + "]"


def upload(rows: int, seed: int, **options: Any) -> bytes:
    sink = io.BytesIO()
    generate(sink, rows, seed=seed, **options)
    return sink.getvalue()


def run_of(pipeline: Pipeline, key: str, body: bytes) -> dict[str, Any]:
    pipeline.upload(key, body)
    return pipeline.wait_until_quiet(pipeline.wait_for_run(key))


def test_a_new_column_is_never_added_to_the_live_contract_without_an_operator(
    pipeline: Pipeline,
) -> None:
    # Version 1 learns nothing (its labels are shuffled) and reads four numeric columns.
    pipeline.upload(f"recipes/{DATASET}.toml", recipe(READS))
    first = run_of(pipeline, f"data/{DATASET}/first.csv", upload(1500, 1, shuffle_labels=True))
    assert first["decision"]["decision"] == "promoted", first
    facts = pipeline.read_json("reports", RunPaths(first["run_id"]).run)
    assert facts["input_columns"][:4] == READS
    # Version 2 also reads `duration` and learns the real signal.
    pipeline.upload(f"recipes/{DATASET}.toml", recipe([*READS, "duration"]))
    second = run_of(pipeline, f"data/{DATASET}/second.csv", upload(3000, 2, signal=3.0))
    made = pipeline.read_json("reports", RunPaths(second["run_id"]).decision)
    assert made["decision"] == "pending-approval", made
    assert "needs column(s) duration" in made["reason"]
    assert "better by" in made["reason"]  # version 1 was scored on version 2's raw rows
    assert made["champion"]["metrics"] is not None
    group = DatasetNames.for_dataset(DATASET).model_package_group
    listed = pipeline.clients.sagemaker.list_model_packages(ModelPackageGroupName=group)
    metadata = [
        pipeline.clients.sagemaker.describe_model_package(
            ModelPackageName=package["ModelPackageArn"]
        )["CustomerMetadataProperties"]
        for package in listed["ModelPackageSummaryList"]
    ]
    columns = {entry["run_id"]: entry["input_columns"].split() for entry in metadata}
    assert columns[second["run_id"]][:5] == [*READS, "duration"]
    assert "duration" not in columns[first["run_id"]]
