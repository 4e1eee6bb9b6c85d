"""One-shot provisioning for docker/compose.yaml: the embedded stack's resources, on LocalStack.

Runs `localcloud.stack.provision` (buckets with versioning, ingest/stages queues each with a DLQ
and redrive policy, S3 notifications with the pipeline's S3_RULES) against the endpoint given,
waits for it to answer first, and prints what it made as JSON. Safe to run again.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request

from localcloud.stack import StackConfig, provision


def wait_until_up(endpoint_url: str, timeout_seconds: float) -> None:
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            with urllib.request.urlopen(endpoint_url, timeout=2):  # noqa: S310 - our own endpoint
                return
        except urllib.error.HTTPError:
            return  # it answered, if only with an error: it is up
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoint-url", default="http://localstack:4566")
    parser.add_argument("--prefix", default="automlops-local")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--visibility-timeout", type=int, default=120)
    parser.add_argument("--max-receive-count", type=int, default=5)
    parser.add_argument("--wait-seconds", type=float, default=60)
    args = parser.parse_args(argv)
    wait_until_up(args.endpoint_url, args.wait_seconds)
    config = StackConfig(
        prefix=args.prefix,
        visibility_timeout=args.visibility_timeout,
        max_receive_count=args.max_receive_count,
    )
    made = provision(args.endpoint_url, config, region=args.region)
    json.dump(
        {
            "buckets": made.buckets,
            "queue_urls": made.queue_urls,
            "dlq_urls": made.dlq_urls,
            "decisions_topic_arn": made.decisions_topic_arn,
        },
        sys.stdout,
        indent=2,
    )
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
