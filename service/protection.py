"""ECS task scale-in protection: keep a busy task alive through scale-in and deployments.

The service scales on queue backlog. When the backlog drains, Application Auto Scaling lowers the
desired count and ECS stops *some* task: without protection it may pick one that is half-way
through a message (a 200 MB preprocess, an evaluation). That message would be handed back and
redone, which is safe but wasteful. So while messages are in flight the worker asks its ECS agent
to protect the task, and drops the protection once it is idle.

The agent endpoint (documented as "task scale-in protection endpoint"):

    PUT $ECS_AGENT_URI/task-protection/v1/state
    {"ProtectionEnabled": true, "ExpiresInMinutes": 60}

answers 200 with {"protection": {"ProtectionEnabled", "ExpirationDate", "TaskArn"}} on success,
but also 200 with {"failure": {"Arn", "Reason", "Detail"}} when ECS refused, and 4xx/5xx with
{"error": {"Code", "Message"}}. The agent calls ECS with the *task role*, which therefore needs
ecs:UpdateTaskProtection (deploy/iam.tf grants it on this cluster's tasks only).

Nothing here may stop the worker: without ECS_AGENT_URI (local runs, tests, compose) every call
is a no-op, and every failure is logged and forgotten. Protection expires on its own, so a lost
release costs at most `expires_minutes` of delayed scale-in.
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import structlog

PATH = "/task-protection/v1/state"
MIN_MINUTES, MAX_MINUTES = 1, 2880  # the range ECS accepts for ExpiresInMinutes


class Log(Protocol):
    def info(self, event: str, **kw: Any) -> Any: ...
    def warning(self, event: str, **kw: Any) -> Any: ...


class TaskProtection:
    """Protect the task while busy, release it when idle; debounced so it does not flap.

    - `on_busy()` (in-flight 0 -> 1) protects unless a protection is already in force and not
      yet due for renewal: busy/idle churn between messages costs no request.
    - `on_idle()` (in-flight back to 0) releases after `idle_grace_seconds` of idleness, not at
      once: the next message usually follows within one poll.
    - `maintain()` renews before expiry while busy and performs the delayed release; call it
      from a loop that already runs (`service.observers.Observers` calls it every 15 s).
    - `close()` releases at shutdown.
    """

    def __init__(
        self,
        agent_uri: str | None,
        expires_minutes: int = 60,
        log: Log | None = None,
        *,
        idle_grace_seconds: float = 30.0,
        retry_seconds: float = 30.0,
        timeout_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not MIN_MINUTES <= expires_minutes <= MAX_MINUTES:
            raise ValueError(f"expires_minutes must be {MIN_MINUTES}-{MAX_MINUTES}")
        self.url = agent_uri.rstrip("/") + PATH if agent_uri else None
        self.expires_minutes = expires_minutes
        self.log: Log = log or structlog.get_logger("automlops.protection")
        self.idle_grace_seconds = idle_grace_seconds
        self.retry_seconds = retry_seconds
        self.timeout_seconds = timeout_seconds
        self._clock = clock
        self._lock = threading.RLock()
        self._busy = False
        self._idle_since: float | None = None
        self._protected_until: float | None = None  # our clock; None = not protected
        self._next_attempt = 0.0  # after a failure, wait before asking again

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> TaskProtection:
        """ECS injects ECS_AGENT_URI into every container of a task; elsewhere it is unset."""
        env = os.environ if environ is None else environ
        return cls(env.get("ECS_AGENT_URI") or None, **kwargs)

    @property
    def enabled(self) -> bool:
        return self.url is not None

    @property
    def protected(self) -> bool:
        with self._lock:
            return self._protected_until is not None and self._clock() < self._protected_until

    def on_busy(self) -> None:
        with self._lock:
            self._busy = True
            self._idle_since = None
            if self._renewal_due():
                self._set(True)

    def on_idle(self) -> None:
        with self._lock:
            self._busy = False
            self._idle_since = self._clock()
            if self.idle_grace_seconds <= 0:
                self._release_if_protected()

    def maintain(self) -> None:
        with self._lock:
            if self._busy:
                if self._renewal_due():
                    self._set(True)
            elif (
                self._idle_since is not None
                and self._clock() - self._idle_since >= self.idle_grace_seconds
            ):
                self._release_if_protected()

    def close(self) -> None:
        with self._lock:
            self._busy = False
            self._release_if_protected()

    # -- internals (called with the lock held) --------------------------------------------------

    def _renewal_due(self) -> bool:
        if not self.enabled or self._clock() < self._next_attempt:
            return False
        if self._protected_until is None:
            return True
        # Renew at half-life: a missed renewal still leaves half the window to try again.
        half_life = self.expires_minutes * 30.0
        return self._clock() >= self._protected_until - half_life

    def _release_if_protected(self) -> None:
        if self.enabled and self._protected_until is not None:
            self._set(False)
            # Whatever the answer, stop trying: the protection expires on its own.
            self._protected_until = None
            self._idle_since = None

    def _set(self, enabled: bool) -> None:
        body: dict[str, Any] = {"ProtectionEnabled": enabled}
        if enabled:
            body["ExpiresInMinutes"] = self.expires_minutes
        started = self._clock()
        answer = self._put(body)
        if answer is not None and "protection" in answer:
            self._protected_until = started + self.expires_minutes * 60.0 if enabled else None
            self.log.info(
                "task_protection.updated",
                protection_enabled=enabled,
                expires_minutes=self.expires_minutes if enabled else None,
                expiration=(answer.get("protection") or {}).get("ExpirationDate"),
            )
            return
        if enabled:
            self._next_attempt = self._clock() + self.retry_seconds
        self.log.warning(
            "task_protection.failed",
            protection_enabled=enabled,
            detail=_describe(answer),
            retry_in_seconds=self.retry_seconds if enabled else None,
        )

    def _put(self, body: dict[str, Any]) -> dict[str, Any] | None:
        assert self.url is not None
        request = urllib.request.Request(  # noqa: S310 - the URL is the agent's, from ECS
            self.url,
            data=json.dumps(body).encode(),
            method="PUT",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:  # noqa: S310
                return _json_object(response.read())
        except urllib.error.HTTPError as exc:
            parsed = _json_object(exc.read()) or {}
            parsed.setdefault("status", exc.code)
            return parsed
        except (OSError, ValueError) as exc:  # URLError, timeouts, refused connections
            return {"exception": f"{type(exc).__name__}: {exc}"}


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw or b"null")
    except ValueError:
        return {"body": raw[:200].decode(errors="replace")}
    return value if isinstance(value, dict) else None


def _describe(answer: dict[str, Any] | None) -> str:
    """One line for the log out of whichever shape of failure the agent returned."""
    if not answer:
        return "no answer"
    if isinstance(answer.get("failure"), dict):
        failure = answer["failure"]
        return f"failure: {failure.get('Reason')} {failure.get('Detail') or ''}".strip()
    if isinstance(answer.get("error"), dict):
        error = answer["error"]
        return f"error {answer.get('status', '')}: {error.get('Code')} {error.get('Message')}"
    return json.dumps(answer)[:300]
