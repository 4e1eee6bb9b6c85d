"""The SageMaker XGBoost image for a region, without the `sagemaker` SDK.

The accounts are AWS's published registries for `sagemaker-xgboost` (the same for every version
since 0.90-1). A region missing here, or a private mirror, is set with AUTOMLOPS_XGBOOST_IMAGE_URI.
"""

from __future__ import annotations

from service.failures import PermanentError

XGBOOST_REGISTRIES: dict[str, str] = {
    "af-south-1": "510948584623",
    "ap-east-1": "651117190479",
    "ap-northeast-1": "354813040037",
    "ap-northeast-2": "366743142698",
    "ap-northeast-3": "867004704886",
    "ap-south-1": "720646828776",
    "ap-southeast-1": "121021644041",
    "ap-southeast-2": "783357654285",
    "ca-central-1": "341280168497",
    "eu-central-1": "492215442770",
    "eu-north-1": "662702820516",
    "eu-south-1": "978288397137",
    "eu-west-1": "141502667606",
    "eu-west-2": "764974769150",
    "eu-west-3": "659782779980",
    "me-south-1": "801668240914",
    "sa-east-1": "737474898029",
    "us-east-1": "683313688378",
    "us-east-2": "257758044811",
    "us-west-1": "746614075791",
    "us-west-2": "246618743249",
}


def xgboost_image_uri(region: str, version: str, override: str = "") -> str:
    if override:
        return override
    account = XGBOOST_REGISTRIES.get(region)
    if account is None:
        raise PermanentError(
            f"no SageMaker XGBoost registry known for region {region!r}; "
            "set AUTOMLOPS_XGBOOST_IMAGE_URI to the image to use"
        )
    return f"{account}.dkr.ecr.{region}.amazonaws.com/sagemaker-xgboost:{version}"
