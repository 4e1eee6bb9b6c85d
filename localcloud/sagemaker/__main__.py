"""`python -m localcloud.sagemaker --port 8085 --s3-endpoint http://moto:5000` (docker compose)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from collections.abc import Sequence
from types import FrameType

from localcloud.sagemaker.arns import DEFAULT_ACCOUNT_ID, DEFAULT_REGION
from localcloud.sagemaker.emulator import Emulator
from localcloud.sagemaker.faults import Faults


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m localcloud.sagemaker", description=__doc__)
    parser.add_argument("--host", default="0.0.0.0", help="bind address (default: all interfaces)")
    parser.add_argument("--port", type=int, default=8085)
    parser.add_argument("--s3-endpoint", default=None, help="S3 endpoint URL, e.g. moto's")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    parser.add_argument("--region", default=region, help="for ARNs (default: $AWS_REGION)")
    parser.add_argument("--account-id", default=DEFAULT_ACCOUNT_ID, help="for ARNs and messages")
    parser.add_argument(
        "--endpoint-delay", type=float, default=1.0, help="seconds Creating -> InService"
    )
    parser.add_argument("--training-seconds", type=float, default=0.0, help="extra seconds per job")
    parser.add_argument(
        "--invoke-latency", type=float, default=0.0, help="seconds added per invoke"
    )
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    faults = Faults(
        endpoint_delay_seconds=args.endpoint_delay,
        training_seconds=args.training_seconds,
        invoke_latency_seconds=args.invoke_latency,
    )
    emulator = Emulator(
        s3_endpoint_url=args.s3_endpoint,
        faults=faults,
        host=args.host,
        port=args.port,
        region=args.region,
        account_id=args.account_id,
    ).start()
    done = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log = logging.getLogger("localcloud.sagemaker")
    log.info("SageMaker emulator listening on %s", emulator.url)
    while not done.wait(0.5):  # a timed wait lets the signal handler run promptly
        pass
    emulator.stop()
    log.info("SageMaker emulator stopped")


if __name__ == "__main__":
    main()
