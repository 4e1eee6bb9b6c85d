"""Serves a model folder with the serving framework the XGBoost container wraps, and answers a
list of requests: the reference the emulator's script mode is compared with.

Run by the serving-oracle environment's Python (the image's: 3.10, sagemaker-containers 2.8.6 with
the image's pins and its one patch), never by the project's: `python serving_oracle.py BASE_DIR`
with `BASE_DIR/model` holding the unpacked model archive and, on stdin, a JSON list of requests
`{"body": base64, "content_type": str|null, "accept": str|null}`. It lays the code out as the
container does (`SAGEMAKER_SUBMIT_DIRECTORY` copied to `BASE_DIR/code`, `pip install .`, import),
builds the Transformer and Worker as sagemaker-xgboost 3.0-5's serving.py does, and writes one
JSON list of `{"status", "content_type", "body": base64}` to `BASE_DIR/answers.json` (stdout
carries pip's output).
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import shutil
import sys
import sysconfig
from typing import Any


def main(base_dir: str) -> None:
    os.environ["SAGEMAKER_BASE_DIR"] = base_dir
    os.environ.setdefault("SAGEMAKER_PROGRAM", "serve.py")
    submit = os.environ.get("SAGEMAKER_SUBMIT_DIRECTORY", "/opt/ml/model/code")
    os.environ["SAGEMAKER_SUBMIT_DIRECTORY"] = submit.replace("/opt/ml", base_dir, 1)

    from sagemaker_containers import _env, _modules
    from sagemaker_containers.beta.framework import transformer, worker

    serving = _env.ServingEnv()
    _forget_installed(serving.module_name)
    _modules.import_module(serving.module_dir, serving.module_name)
    try:
        module = importlib.import_module(serving.module_name)
        names = ("model_fn", "input_fn", "predict_fn", "output_fn")
        functions = {name: getattr(module, name) for name in names}
        served = transformer.Transformer(**functions)
        served.initialize()
        client = worker.Worker(transform_fn=served.transform, module_name=module.__name__)
        answers = [_answer(client.test_client(), request) for request in json.load(sys.stdin)]
    finally:
        _forget_installed(serving.module_name)
    with open(os.path.join(base_dir, "answers.json"), "w") as out:
        json.dump(answers, out)


def _forget_installed(module_name: str) -> None:
    """Remove what an earlier `pip install .` of a bundle left in this environment. The legacy
    `setup.py install` the container's pip runs records no files, so pip cannot uninstall it;
    a stale module left here could hide one a new bundle lacks."""
    site = sysconfig.get_paths()["purelib"]
    leftovers = [f"{module_name}.py", "handlers", "service"]
    leftovers += [n for n in os.listdir(site) if n.startswith(module_name) and "egg-info" in n]
    for name in leftovers:
        path = os.path.join(site, name)
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)


def _answer(client: Any, request: dict[str, Any]) -> dict[str, Any]:
    headers = {}
    if request["content_type"] is not None:
        headers["Content-Type"] = request["content_type"]
    if request["accept"] is not None:
        headers["Accept"] = request["accept"]
    body = base64.b64decode(request["body"])
    response = client.post("/invocations", data=body, headers=headers)
    return {
        "status": response.status_code,
        "content_type": response.headers.get("Content-Type"),
        "body": base64.b64encode(response.get_data()).decode(),
    }


if __name__ == "__main__":
    main(sys.argv[1])
