"""Run ids, dataset names, S3 key layout and SageMaker names."""

from __future__ import annotations

import random
import re
import string

import pytest

from handlers.naming import (
    SAGEMAKER_NAME_MAX,
    SAGEMAKER_NAME_PATTERN,
    DatasetNames,
    RunPaths,
    SageMakerNames,
    dataset_of_key,
    is_run_id,
    recipe_key,
    run_id_for_object,
    run_id_of_key,
    sagemaker_name,
    sagemaker_names,
    tag_text,
)
from service.failures import PermanentError

EVENT_TIME = "2026-11-26T20:03:04.123Z"


def test_run_id_is_the_event_day_and_a_digest_of_the_object() -> None:
    run_id = run_id_for_object("raw", "data/bank-marketing/2026-11.csv", "v1", EVENT_TIME)
    assert run_id.startswith("20261126-")
    assert is_run_id(run_id)
    assert run_id == run_id_for_object("raw", "data/bank-marketing/2026-11.csv", "v1", EVENT_TIME)


@pytest.mark.parametrize(
    "other",
    [
        ("raw2", "data/bank-marketing/2026-11.csv", "v1"),
        ("raw", "data/bank-marketing/2026-12.csv", "v1"),
        ("raw", "data/bank-marketing/2026-11.csv", "v2"),
    ],
)
def test_run_id_changes_with_bucket_key_or_version(other: tuple[str, str, str]) -> None:
    base = run_id_for_object("raw", "data/bank-marketing/2026-11.csv", "v1", EVENT_TIME)
    assert run_id_for_object(*other, EVENT_TIME) != base


def test_run_id_ignores_etag_quotes() -> None:
    quoted = run_id_for_object("raw", "data/x/a.csv", '"abc123"', EVENT_TIME)
    assert quoted == run_id_for_object("raw", "data/x/a.csv", "abc123", EVENT_TIME)


def test_run_id_day_is_utc() -> None:
    run_id = run_id_for_object("raw", "data/x/a.csv", "e", "2026-11-26T23:30:00-05:00")
    assert run_id.startswith("20261127-")


@pytest.mark.parametrize("event_time", ["", "not a time"])
def test_run_id_falls_back_to_today(event_time: str) -> None:
    assert is_run_id(run_id_for_object("raw", "data/x/a.csv", "e", event_time))


def test_dataset_is_the_folder_under_data() -> None:
    assert dataset_of_key("data/bank-marketing/2026-11.csv") == "bank-marketing"
    assert dataset_of_key("data/bank-marketing/2026/11.csv") == "bank-marketing"


@pytest.mark.parametrize(
    "key",
    [
        "data/file.csv",
        "other/bank/file.csv",
        "data/Bank_Marketing/a.csv",
        "data/-x/a.csv",
        "data//a.csv",
    ],
)
def test_dataset_errors_name_the_key(key: str) -> None:
    with pytest.raises(PermanentError, match="object key") as caught:
        dataset_of_key(key)
    assert repr(key) in str(caught.value)


def test_run_id_of_a_model_key() -> None:
    job = "aml-bank-marketing-20261126-3f9a1c0b2e-train"
    key = f"runs/20261126-3f9a1c0b2e/model/{job}/output/model.tar.gz"
    assert run_id_of_key(key) == "20261126-3f9a1c0b2e"


@pytest.mark.parametrize("key", ["models/x/model.tar.gz", "runs/latest/model.tar.gz", "runs/"])
def test_run_id_of_key_without_a_run_id(key: str) -> None:
    with pytest.raises(PermanentError, match="runs/<run_id>/"):
        run_id_of_key(key)


def test_run_paths_layout() -> None:
    paths = RunPaths("20261126-3f9a1c0b2e")
    assert paths.processed == "runs/20261126-3f9a1c0b2e/processed.csv"
    assert paths.train == "runs/20261126-3f9a1c0b2e/split/train.csv"
    assert paths.validation == "runs/20261126-3f9a1c0b2e/split/validation.csv"
    assert paths.test == "runs/20261126-3f9a1c0b2e/split/test.csv"
    assert paths.error == "runs/20261126-3f9a1c0b2e/error.json"
    assert paths.model_prefix == "runs/20261126-3f9a1c0b2e/model/"
    assert run_id_of_key(paths.model_prefix + "job/output/model.tar.gz") == paths.run_id
    assert recipe_key("bank-marketing") == "recipes/bank-marketing.toml"


def _assert_valid(name: str) -> None:
    assert len(name) <= SAGEMAKER_NAME_MAX, name
    assert SAGEMAKER_NAME_PATTERN.match(name), name


def test_sagemaker_names_example() -> None:
    names = sagemaker_names("bank-marketing", "20261126-3f9a1c0b2e")
    assert names == SageMakerNames(
        training_job="aml-bank-marketing-20261126-3f9a1c0b2e-train",
        model="aml-bank-marketing-20261126-3f9a1c0b2e-model",
        endpoint_config="aml-bank-marketing-20261126-3f9a1c0b2e-epc",
        endpoint="aml-bank-marketing-20261126-3f9a1c0b2e-ep",
        live_model="aml-bank-marketing-20261126-3f9a1c0b2e-live",
        live_endpoint_config="aml-bank-marketing-20261126-3f9a1c0b2e-live-epc",
    )


def _random_text(rng: random.Random, length: int) -> str:
    alphabet = string.ascii_letters + string.digits + "-_. /é"
    return "".join(rng.choice(alphabet) for _ in range(length))


@pytest.mark.parametrize("seed", range(50))
def test_sagemaker_names_are_always_valid_and_distinct(seed: int) -> None:
    rng = random.Random(seed)
    dataset = _random_text(rng, rng.randint(0, 80))
    run_id = _random_text(rng, rng.randint(0, 80))
    names = sagemaker_names(dataset, run_id)
    values = [
        names.training_job,
        names.model,
        names.endpoint_config,
        names.endpoint,
        names.live_model,
        names.live_endpoint_config,
    ]
    for name in values:
        _assert_valid(name)
    assert len(set(values)) == len(values)
    assert names == sagemaker_names(dataset, run_id)


def test_long_datasets_keep_the_run_id_in_every_name() -> None:
    names = sagemaker_names("a" * 63, "20261126-3f9a1c0b2e")
    assert all("20261126-3f9a1c0b2e" in name for name in vars(names).values())
    assert sagemaker_names("a" * 63, "20261126-3f9a1c0b2e") != sagemaker_names(
        "a" * 63, "20261126-0000000000"
    )


@pytest.mark.parametrize(("base", "suffix"), [("", ""), ("---", "-"), ("x" * 100, "y" * 100)])
def test_sagemaker_name_edge_cases(base: str, suffix: str) -> None:
    _assert_valid(sagemaker_name(base, suffix))


# -- tags AWS accepts ---------------------------------------------------------------------------

AWS_TAG = re.compile(r"^[\w\s.:/=+\-@]*$")  # \w and \s stand in for \p{L}\p{N} and \p{Z}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "s3://raw/data/bank-marketing/bank-additional (1).csv",
            "s3://raw/data/bank-marketing/bank-additional _1_.csv",
        ),
        ("data/zürich/€ q1+q2.csv", "data/zürich/_ q1+q2.csv"),
        ("plain-value_1.2:3/4=5+6@7", "plain-value_1.2:3/4=5+6@7"),
    ],
)
def test_tag_values_keep_what_aws_accepts_and_replace_the_rest(value: str, expected: str) -> None:
    assert tag_text(value, 256) == expected
    assert AWS_TAG.match(tag_text(value, 256))


def test_a_long_tag_value_keeps_its_start_and_a_digest_within_the_limit() -> None:
    first, second = "s3://raw/data/x/" + "a" * 300, "s3://raw/data/x/" + "a" * 299 + "b"
    one, two = tag_text(first, 256), tag_text(second, 256)
    assert len(one) == len(two) == 256
    assert one.startswith("s3://raw/data/x/aaa")
    assert one != two


def test_the_tags_a_job_gets_all_conform() -> None:
    from handlers.aws.sagemaker import tags

    for tag in tags(run_id="20261201-0123456789", source="s3://b/data/d/x (1).csv" * 20):
        assert 1 <= len(tag["Key"]) <= 128
        assert len(tag["Value"]) <= 256
        assert AWS_TAG.match(tag["Key"])
        assert AWS_TAG.match(tag["Value"])
        assert not tag["Key"].startswith("aws:")


# -- which upload an event announces --------------------------------------------------------------


def uploaded(**fields: object) -> str:
    from handlers.messages import DataUploaded

    event = {"bucket": "raw", "key": "data/bank-marketing/a.csv", "etag": "abc", **fields}
    return DataUploaded.from_event(event, "test").run_id


def test_duplicate_deliveries_of_one_event_share_the_run() -> None:
    event = {"sequencer": "0062E99A88DC407460", "event_time": "2026-11-26T10:00:00.123Z"}
    assert uploaded(**event) == uploaded(**event)


def test_the_same_bytes_uploaded_again_start_a_new_run() -> None:
    """An unversioned bucket (or a stand-in with a fixed sequencer): same key, same ETag."""
    first = uploaded(sequencer="617f08299329d189", event_time="2026-11-26T10:00:00.123Z")
    again = uploaded(sequencer="617f08299329d189", event_time="2026-11-26T10:05:00.456Z")
    assert first != again


def test_a_version_id_alone_names_the_upload() -> None:
    one = uploaded(version_id="v1", sequencer="a", event_time="2026-11-26T10:00:00Z")
    assert one == uploaded(version_id="v1", sequencer="b", event_time="2026-11-26T10:00:01Z")
    assert one != uploaded(version_id="v2", sequencer="a", event_time="2026-11-26T10:00:00Z")


def test_a_message_cannot_know_the_prefix_but_names_stay_the_runs_own() -> None:
    from handlers.naming import is_run_name

    run = "20261201-0123456789"
    assert is_run_name(sagemaker_names("d", run).training_job, "d", run, "train")
    assert is_run_name(sagemaker_names("d", run, "team7").endpoint, "d", run, "ep")
    assert not is_run_name(sagemaker_names("d", run).endpoint, "d", run, "train")
    assert not is_run_name(sagemaker_names("other", run).endpoint, "d", run, "ep")
    assert not is_run_name("x" * 11 + f"-d-{run}-ep", "d", run, "ep")  # prefix too long
    assert not is_run_name(f"evil/../-d-{run}-ep", "d", run, "ep")


def test_a_datasets_lifecycle_names() -> None:
    names = DatasetNames.for_dataset("bank-marketing")
    assert names.model_package_group == "aml-bank-marketing"
    assert names.live_endpoint == "aml-bank-marketing-live"
    assert names.run_name_prefix == "aml-bank-marketing-"


def test_long_dataset_names_are_shortened_with_a_digest_and_stay_apart() -> None:
    first = DatasetNames.for_dataset("d" * 60 + "-one", "team7")
    second = DatasetNames.for_dataset("d" * 60 + "-two", "team7")
    for names in (first, second):
        for name in (names.model_package_group, names.live_endpoint):
            assert len(name) <= 63
            assert SAGEMAKER_NAME_PATTERN.match(name), name
        assert names.live_endpoint.endswith("-live")
    assert first.live_endpoint != second.live_endpoint
    assert first.model_package_group != second.model_package_group
