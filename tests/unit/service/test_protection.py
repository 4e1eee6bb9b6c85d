"""Task scale-in protection against a stand-in for the ECS agent endpoint on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from service.protection import PATH, TaskProtection

TASK_ARN = "arn:aws:ecs:us-east-1:123456789012:task/automlops-prod/0123456789abcdef"
OK = (200, {"protection": {"ProtectionEnabled": True, "ExpirationDate": "2026-11-26T21:00:00Z"}})


@dataclass
class Agent:
    """Records every request; answers with the queued responses, then with OK."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    responses: list[tuple[int, Any]] = field(default_factory=list)
    delay: float = 0.0
    uri: str = ""

    def answer(self) -> tuple[int, Any]:
        return self.responses.pop(0) if self.responses else OK


@pytest.fixture
def agent() -> Iterator[Agent]:
    state = Agent()

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            state.requests.append(
                {
                    "method": "PUT",
                    "path": self.path,
                    "content_type": self.headers.get("Content-Type"),
                    "body": json.loads(self.rfile.read(length)),
                }
            )
            time.sleep(state.delay)
            status, body = state.answer()
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.uri = f"http://127.0.0.1:{server.server_address[1]}/api/abc-123"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class RecordingLog:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict[str, Any]]] = []

    def info(self, event: str, **kw: Any) -> None:
        self.events.append(("info", event, kw))

    def warning(self, event: str, **kw: Any) -> None:
        self.events.append(("warning", event, kw))

    def warnings(self) -> list[dict[str, Any]]:
        return [kw for level, _, kw in self.events if level == "warning"]


def protection(agent: Agent, clock: Clock, log: RecordingLog, **kwargs: Any) -> TaskProtection:
    options: dict[str, Any] = {"idle_grace_seconds": 30.0, "retry_seconds": 30.0}
    options.update(kwargs)
    return TaskProtection(agent.uri, 60, log, clock=clock, timeout_seconds=2.0, **options)


def bodies(agent: Agent) -> list[dict[str, Any]]:
    return [r["body"] for r in agent.requests]


def test_without_agent_uri_everything_is_a_no_op() -> None:
    log = RecordingLog()
    p = TaskProtection.from_env({}, log=log)
    assert not p.enabled
    p.on_busy()
    p.maintain()
    p.on_idle()
    p.close()
    assert not p.protected
    assert log.events == []


def test_from_env_reads_the_agent_uri(agent: Agent) -> None:
    p = TaskProtection.from_env({"ECS_AGENT_URI": agent.uri}, expires_minutes=5)
    assert p.enabled
    assert p.url == agent.uri + PATH
    assert p.expires_minutes == 5


def test_busy_protects_with_the_documented_request(agent: Agent) -> None:
    clock, log = Clock(), RecordingLog()
    p = protection(agent, clock, log)
    p.on_busy()
    assert agent.requests == [
        {
            "method": "PUT",
            "path": "/api/abc-123/task-protection/v1/state",
            "content_type": "application/json",
            "body": {"ProtectionEnabled": True, "ExpiresInMinutes": 60},
        }
    ]
    assert p.protected
    assert log.events[0][1] == "task_protection.updated"


def test_busy_idle_churn_between_messages_costs_no_requests(agent: Agent) -> None:
    clock, log = Clock(), RecordingLog()
    p = protection(agent, clock, log)
    for _ in range(5):
        p.on_busy()
        clock.now += 2
        p.on_idle()
        clock.now += 2
        p.maintain()  # idle for less than the grace period: keep the protection
    assert bodies(agent) == [{"ProtectionEnabled": True, "ExpiresInMinutes": 60}]
    assert p.protected


def test_protection_is_renewed_at_half_life_while_busy(agent: Agent) -> None:
    clock, log = Clock(), RecordingLog()
    p = protection(agent, clock, log)
    p.on_busy()
    clock.now += 29 * 60
    p.maintain()
    assert len(agent.requests) == 1
    clock.now += 2 * 60  # past half of the 60 minutes
    p.maintain()
    assert len(agent.requests) == 2
    assert agent.requests[1]["body"]["ProtectionEnabled"] is True
    clock.now += 40 * 60  # the first protection would have expired by now; the renewal has not
    assert p.protected


def test_idle_releases_after_the_grace_period(agent: Agent) -> None:
    clock, log = Clock(), RecordingLog()
    p = protection(agent, clock, log)
    p.on_busy()
    p.on_idle()
    clock.now += 31
    p.maintain()
    assert bodies(agent)[-1] == {"ProtectionEnabled": False}
    assert not p.protected
    p.maintain()  # released once, not on every tick
    assert len(agent.requests) == 2


def test_zero_grace_releases_at_once(agent: Agent) -> None:
    clock, log = Clock(), RecordingLog()
    p = protection(agent, clock, log, idle_grace_seconds=0)
    p.on_busy()
    p.on_idle()
    assert bodies(agent) == [
        {"ProtectionEnabled": True, "ExpiresInMinutes": 60},
        {"ProtectionEnabled": False},
    ]


def test_close_releases_a_protected_task(agent: Agent) -> None:
    clock, log = Clock(), RecordingLog()
    p = protection(agent, clock, log)
    p.on_busy()
    p.close()
    assert bodies(agent)[-1] == {"ProtectionEnabled": False}


def test_close_of_an_unprotected_task_sends_nothing(agent: Agent) -> None:
    p = protection(agent, Clock(), RecordingLog())
    p.close()
    assert agent.requests == []


def test_an_ecs_failure_is_logged_and_retried_later(agent: Agent) -> None:
    clock, log = Clock(), RecordingLog()
    agent.responses.append(
        (200, {"failure": {"Arn": TASK_ARN, "Reason": "TASK_NOT_VALID", "Detail": "standalone"}})
    )
    p = protection(agent, clock, log)
    p.on_busy()
    assert not p.protected
    assert "TASK_NOT_VALID" in log.warnings()[0]["detail"]
    p.maintain()  # within the retry pause: no second request
    assert len(agent.requests) == 1
    clock.now += 31
    p.maintain()
    assert len(agent.requests) == 2
    assert p.protected


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (400, {"error": {"Code": "InvalidParameterException", "Message": "bad"}}, "Invalid"),
        (403, {"error": {"Code": "AccessDeniedException", "Message": "no"}}, "AccessDenied"),
        (500, {"error": {"Code": "ServerException", "Message": "oops"}}, "ServerException"),
        (502, b"<html>bad gateway</html>", "bad gateway"),
    ],
)
def test_agent_errors_never_raise(agent: Agent, status: int, body: Any, expected: str) -> None:
    clock, log = Clock(), RecordingLog()
    agent.responses.append((status, body))
    p = protection(agent, clock, log)
    p.on_busy()
    assert not p.protected
    assert expected in log.warnings()[0]["detail"]


def test_an_unreachable_agent_never_raises() -> None:
    clock, log = Clock(), RecordingLog()
    # Port 9 (discard) on loopback: nothing listens there, the connection is refused at once.
    p = TaskProtection("http://127.0.0.1:9/api/x", 60, log, clock=clock, timeout_seconds=1.0)
    p.on_busy()
    assert not p.protected
    assert log.warnings()[0]["detail"].startswith('{"exception"')


def test_a_slow_agent_times_out_without_raising(agent: Agent) -> None:
    clock, log = Clock(), RecordingLog()
    agent.delay = 1.0
    p = TaskProtection(agent.uri, 60, log, clock=clock, timeout_seconds=0.2)
    started = time.monotonic()
    p.on_busy()
    assert time.monotonic() - started < 0.9
    assert not p.protected
    assert "timed out" in log.warnings()[0]["detail"].lower()


def test_maintain_renews_while_busy_and_close_releases(agent: Agent) -> None:
    clock, log = Clock(), RecordingLog()
    p = protection(agent, clock, log)
    p.on_busy()
    clock.now += 31 * 60  # past half of the 60-minute protection
    p.maintain()
    p.close()
    assert bodies(agent)[1] == {"ProtectionEnabled": True, "ExpiresInMinutes": 60}
    assert bodies(agent)[-1] == {"ProtectionEnabled": False}


def test_expiry_outside_the_ecs_range_is_refused() -> None:
    with pytest.raises(ValueError, match="expires_minutes"):
        TaskProtection("http://127.0.0.1:9", 0)
    with pytest.raises(ValueError, match="expires_minutes"):
        TaskProtection("http://127.0.0.1:9", 2881)


def test_worker_hooks_protect_off_the_calling_thread_and_release_at_stop(agent: Agent) -> None:
    from service.metrics import MetricsEmitter
    from service.observers import Observers

    agent.delay = 0.5  # a slow agent must not hold the thread that reports busy/idle
    lines: list[str] = []
    protection = TaskProtection(agent.uri, expires_minutes=60, idle_grace_seconds=0)
    observers = Observers(MetricsEmitter("automlops", writer=lines.append), protection)
    observers.start()
    hooks = observers.hooks()
    hooks.on_busy()
    assert agent.requests == []  # queued, not sent from here
    deadline = time.monotonic() + 5
    while not agent.requests and time.monotonic() < deadline:
        time.sleep(0.02)
    hooks.on_idle()
    observers.stop()
    bodies = [request["body"]["ProtectionEnabled"] for request in agent.requests]
    assert bodies == [True, False]


def test_settled_summary_becomes_an_emf_line_per_stage_and_outcome() -> None:
    from service.metrics import MetricsEmitter
    from service.observers import Observers

    lines: list[str] = []
    observers = Observers(MetricsEmitter("automlops", writer=lines.append), TaskProtection(None))
    summary = {
        "message_type": "train.requested",
        "stage": "train",
        "outcome": "retry",
        "duration_ms": 12.5,
        "run_id": "20261126-3f9a1c0b2e",
        "message_id": "m-1",
    }
    observers.on_settled(summary)
    (document,) = [json.loads(line) for line in lines]
    # The stage as the run manifest names it: one vocabulary in logs, metrics and manifests.
    assert (document["Stage"], document["Outcome"]) == ("train", "retry")
    assert document["MessagesFailed"] == 1
    assert document["StageDurationMs"] == 12.5
    assert document["run_id"] == "20261126-3f9a1c0b2e"
