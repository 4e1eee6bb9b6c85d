"""A worker killed between sending a follow-up and deleting its input: a duplicate, never a loss."""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from conftest import QueueTool
from worker_app import Forward

from localcloud.stack import Stack
from service.messages import encode_envelope

if TYPE_CHECKING:
    from conftest import WorkerProcess


@pytest.fixture
def queues(sqs: Any) -> QueueTool:
    """Real worker processes reach SQS (moto's server), never another process's memory."""
    return QueueTool(sqs)


APP = ["-m", "tests.integration.worker_app"]


def test_follow_up_survives_a_kill_before_delete_and_the_input_is_redone(
    clean_queues: Stack,
    spawn: Callable[..., WorkerProcess],
    make_env: Callable[..., dict[str, str]],
    queues: QueueTool,
    stack: Stack,
) -> None:
    env = make_env(visibility_extension_seconds=2)
    doomed = spawn([*APP, "--die-before-delete"], env)
    doomed.wait_for_event("worker.started")
    body = encode_envelope(Forward(run_id="r-crash"))
    queues.send(stack.queue_urls["ingest"], body)
    assert doomed.wait_exit(timeout=15) == -signal.SIGKILL

    # The follow-up was sent before the delete that never happened...
    assert queues.depth(stack.queue_urls["stages"]) == 1
    assert queues.depth(stack.queue_urls["ingest"]) == 1  # ...and the input is still there.

    # Once its visibility lapses another worker takes the input again and redoes the stage.
    survivor = spawn(APP, env)
    summary = survivor.wait_for_event("message.settled", timeout=20)
    assert (summary["outcome"], summary["receive_count"], summary["followups"]) == ("ok", 2, 1)
    assert queues.wait_until(lambda: queues.depth(stack.queue_urls["ingest"]) == 0, 5)
    followups = queues.receive_all(stack.queue_urls["stages"])
    assert [m["Body"].count('"type":"test.done"') for m in followups] == [1, 1]  # duplicate
