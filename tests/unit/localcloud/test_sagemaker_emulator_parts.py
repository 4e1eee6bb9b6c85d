"""The SageMaker emulator's pure parts: hyperparameters, artifacts, CSV, encodings, validation."""

from __future__ import annotations

import io
import tarfile
from typing import Any

import numpy as np
import pytest
import xgboost as xgb

from localcloud.sagemaker import artifacts, hyperparameters
from localcloud.sagemaker.arns import Account
from localcloud.sagemaker.csvdata import CsvError, read_labelled, read_matrix
from localcloud.sagemaker.errors import ApiError, ContainerError
from localcloud.sagemaker.faults import DEFAULT_TRAINING_FAILURE, Faults
from localcloud.sagemaker.runtime import encode, predict
from localcloud.sagemaker.validation import Problems, check_int, check_name


def small_booster(rounds: int = 3) -> xgb.Booster:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(60, 3))
    labels = (features[:, 0] > 0).astype(float)
    params = {"objective": "binary:logistic", "nthread": 1}
    return xgb.train(params, xgb.DMatrix(features, label=labels), rounds)


def tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_hyperparameters_are_typed_like_the_container() -> None:
    config = hyperparameters.parse(
        {
            "num_round": "100",
            "max_depth": "5",
            "eta": "0.2",
            "gamma": "4",
            "min_child_weight": "6",
            "subsample": "0.8",
            "objective": "binary:logistic",
            "eval_metric": "auc,logloss",
            "early_stopping_rounds": "10",
        }
    )
    assert (config.num_round, config.early_stopping_rounds) == (100, 10)
    assert config.params == {
        "max_depth": 5,
        "eta": 0.2,
        "gamma": 4.0,
        "min_child_weight": 6.0,
        "subsample": 0.8,
        "objective": "binary:logistic",
        "eval_metric": ["auc", "logloss"],
        "nthread": 1,
    }
    assert hyperparameters.parse({"num_round": "1", "learning_rate": "0.1"}).params["eta"] == 0.1


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"eta": "0.1"}, "ClientError: Missing required hyperparameter: num_round"),
        ({"num_round": "1.5"}, "ClientError: Hyperparameter num_round: could not parse value"),
        (
            {"num_round": "5", "eta": "2"},
            "ClientError: Hyperparameter eta: value 2 not in range [0, 1]",
        ),
        (
            {"num_round": "5", "subsample": "0"},
            "ClientError: Hyperparameter subsample: value 0 not in range (0, 1]",
        ),
        (
            {"num_round": "5", "objective": "binary:nope"},
            "ClientError: Hyperparameter objective: binary:nope",
        ),
        ({"num_round": "5", "silent": "1"}, "ClientError: Extraneous hyperparameter found: silent"),
    ],
)
def test_bad_hyperparameters_fail_with_the_container_message(
    values: dict[str, str], reason: str
) -> None:
    with pytest.raises(ContainerError) as caught:
        hyperparameters.parse(values)
    assert caught.value.reason.startswith(reason)


def test_artifact_holds_only_the_native_model_and_round_trips() -> None:
    booster = small_booster()
    packed = artifacts.pack(booster)
    with tarfile.open(fileobj=io.BytesIO(packed), mode="r:gz") as archive:
        assert archive.getnames() == ["xgboost-model"]
        member = archive.extractfile("xgboost-model")
        assert member is not None
        raw = member.read()
    assert raw == bytes(
        booster.save_raw(raw_format="ubj")
    )  # what save_model("xgboost-model") writes
    (loaded,) = artifacts.load(packed)
    matrix = xgb.DMatrix(np.random.default_rng(1).normal(size=(10, 3)))
    assert (loaded.predict(matrix) == booster.predict(matrix)).all()


def test_artifact_loading_skips_dotfiles_and_averages_ensembles() -> None:
    first, second = small_booster(2), small_booster(6)
    ubj = {"a": bytes(first.save_raw("ubj")), "b": bytes(second.save_raw("ubj"))}
    loaded = artifacts.load(tarball({".DS_Store": b"junk", "xgboost-model": ubj["a"]}))
    assert len(loaded) == 1
    both = artifacts.load(tarball({"model-0": ubj["a"], "model-1": ubj["b"]}))
    features = np.random.default_rng(2).normal(size=(4, 3))
    matrix = xgb.DMatrix(features)
    expected = (first.predict(matrix) + second.predict(matrix)) / 2
    assert np.allclose(predict(both, features), expected)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"not a tarball", "not a readable tar.gz archive"),
        (tarball({}), "holds no model file"),
        (tarball({"xgboost-model": b"garbage"}), "Model xgboost-model cannot be loaded"),
        (tarball({"xgboost-model": b"\x80\x04K\x01."}), "cannot be loaded"),  # a pickle: refused
    ],
    ids=["not-a-tarball", "empty-tarball", "garbage-model", "pickled-model"],
)
def test_unservable_artifacts(data: bytes, problem: str) -> None:
    with pytest.raises(artifacts.ArtifactError, match=problem):
        artifacts.load(data)


def test_csv_reading() -> None:
    features, labels = read_labelled([b"1,0.5,2\n0,,3\n", b"1,1,1\n"])
    assert labels.tolist() == [1.0, 0.0, 1.0]
    assert np.isnan(features[1, 0])
    assert features.shape == (3, 2)
    assert read_matrix(b"1,2\n3,4\n\n").tolist() == [[1.0, 2.0], [3.0, 4.0]]
    with pytest.raises(CsvError):
        read_matrix(b"1,abc\n")
    with pytest.raises(CsvError, match="different numbers of columns"):
        read_labelled([b"1,2,3\n", b"1,2\n"])


def test_score_encodings_match_the_container() -> None:
    scores = np.array([0.25, 0.5], dtype=np.float32)
    assert encode(scores, "text/csv") == b"0.25\n0.5\n"
    assert (
        encode(scores, "application/json") == b'{"predictions": [{"score": 0.25}, {"score": 0.5}]}'
    )


def test_validation_reports_every_problem_in_aws_words() -> None:
    problems = Problems()
    check_name(problems, "bad_name", "endpointName")
    check_int(problems, 201, "productionVariants.1.member.serverlessConfig.maxConcurrency", 1, 200)
    with pytest.raises(ApiError) as caught:
        problems.raise_if_any()
    assert caught.value.code == "ValidationException"
    assert caught.value.message == (
        "2 validation errors detected: Value 'bad_name' at 'endpointName' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: "
        "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}; "
        "Value '201' at 'productionVariants.1.member.serverlessConfig.maxConcurrency' failed to "
        "satisfy constraint: Member must have value less than or equal to 200"
    )


def test_arns_are_lower_cased_and_parse_back() -> None:
    account = Account("eu-west-1", "111122223333")
    arn = account.arn("endpoint", "My-Endpoint")
    assert arn == "arn:aws:sagemaker:eu-west-1:111122223333:endpoint/my-endpoint"
    assert account.parse(arn) == ("endpoint", "my-endpoint")
    assert account.parse("arn:aws:sagemaker:eu-west-1:111122223333:bogus/x") is None


def test_fault_rules_and_merging() -> None:
    faults = Faults().merged({"training_failures": {"run-7": ""}, "training_seconds": 2})
    assert faults.training_failure("job-run-7") == DEFAULT_TRAINING_FAILURE
    assert faults.training_failure("job-run-8") is None
    assert faults.training_seconds == 2.0
    cases: list[tuple[dict[str, Any], str]] = [
        ({"training_seconds": "2"}, "must be a number"),
        ({"endpoint_failures": ["x"]}, "must be an object"),
        ({"nope": 1}, "unknown fault"),
    ]
    for bad, problem in cases:
        with pytest.raises(ValueError, match=problem):
            faults.merged(bad)


def test_injected_api_errors_are_counted_and_then_stop() -> None:
    from localcloud.sagemaker.faults import Faults, FaultState

    state = FaultState(Faults())
    state.update({"api_errors": {"DescribeEndpoint": {"code": "ThrottlingException", "times": 2}}})
    first, second, third = (state.api_error("DescribeEndpoint") for _ in range(3))
    assert first is not None
    assert second is not None
    assert (first.code, first.status) == ("ThrottlingException", 400)
    assert third is None
    assert state.api_error("DescribeTrainingJob") is None
    state.update({"api_errors": {"InvokeEndpoint": {"code": "InternalFailure", "status": 500}}})
    assert all(state.api_error("InvokeEndpoint") is not None for _ in range(5))  # every call


@pytest.mark.parametrize(
    "rule",
    [{"status": 400}, {"code": "X", "status": 200}, {"code": "X", "times": -1}, "Throttling"],
)
def test_a_malformed_api_error_rule_is_refused(rule: object) -> None:
    from localcloud.sagemaker.faults import Faults

    with pytest.raises(ValueError, match="api_errors"):
        Faults().merged({"api_errors": {"DescribeEndpoint": rule}})
