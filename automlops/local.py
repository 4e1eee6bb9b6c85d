"""`automlops local`: the embedded AWS on 127.0.0.1 with the worker running in it.

moto and the SageMaker emulator are the `local` extra, not in the container image: imported
only here and in the demo.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from automlops.aws import AwsTarget
from automlops.compose import Config
from localcloud.stack import Stack, StackConfig, running_sagemaker, running_stack
from service.failures import ConfigurationError


@contextmanager
def embedded_aws(prefix: str, **emulator_faults: float) -> Iterator[Stack]:
    """moto and the SageMaker emulator, provisioned as deploy/ declares, until the block ends."""
    with (
        running_stack(StackConfig(prefix=prefix)) as stack,
        running_sagemaker(stack, **emulator_faults),
    ):
        yield stack


def stack_config(stack: Stack, overrides: Mapping[str, str] | None = None) -> Config:
    """The worker's configuration on `stack`: the caller's own `AUTOMLOPS_*` settings (log format,
    threads...), then the stack's buckets and queues, then `overrides`. AWS is the stack's alone:
    a stray `AWS_ENDPOINT_URL_S3` in the caller's environment must not point elsewhere."""
    own = {k: v for k, v in os.environ.items() if k.startswith("AUTOMLOPS_")}
    env = {**own, **stack.env, **(overrides or {})}
    return Config.from_env(env, aws=AwsTarget.from_env(stack.env))


def write_env_file(path: Path, env: Mapping[str, str]) -> None:
    """`KEY=value` lines a shell can source (`set -a; . FILE; set +a`); only its owner reads it."""
    text = "".join(f"{key}={shlex.quote(value)}\n" for key, value in sorted(env.items()))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(text)


def serve(prefix: str, *, env_file: Path | None = None, send_sample: bool = False) -> int:
    from automlops.cli import configuration_error, run_worker

    with embedded_aws(prefix) as stack:
        if env_file is not None:
            write_env_file(env_file, stack.env)
        raw = stack.buckets["raw"]
        print(f"embedded AWS at {stack.endpoint_url}, SageMaker at {stack.sagemaker_endpoint_url}")
        print(f"buckets: {', '.join(stack.buckets.values())}")
        if env_file is not None:
            print(f"environment written to {env_file}: set -a; . {env_file}; set +a")
        print(
            f"upload with: aws --endpoint-url {stack.endpoint_url} s3 cp FILE.csv "
            f"s3://{raw}/data/bank-marketing/FILE.csv; stop with Ctrl-C",
            flush=True,
        )
        try:
            config = stack_config(stack)
        except ConfigurationError as exc:
            return configuration_error(exc)
        return run_worker(config, send_sample=send_sample)
