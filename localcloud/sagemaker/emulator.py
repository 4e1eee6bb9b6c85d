"""The SageMaker emulator: builds the services, serves them over HTTP in a background thread."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

from localcloud.sagemaker.arns import DEFAULT_ACCOUNT_ID, DEFAULT_REGION, Account
from localcloud.sagemaker.control import operations
from localcloud.sagemaker.deployer import Deployer
from localcloud.sagemaker.endpoint_configs import EndpointConfigs
from localcloud.sagemaker.endpoints import Endpoints
from localcloud.sagemaker.faults import Faults, FaultState
from localcloud.sagemaker.models import Models
from localcloud.sagemaker.registry import Registry
from localcloud.sagemaker.routes import App
from localcloud.sagemaker.runtime import Runtime
from localcloud.sagemaker.s3io import S3
from localcloud.sagemaker.script_mode import ScriptHosts
from localcloud.sagemaker.server import HttpServer
from localcloud.sagemaker.store import Store
from localcloud.sagemaker.tags import Tags
from localcloud.sagemaker.training_jobs import TrainingJobs
from localcloud.sagemaker.training_logs import TrainingLogs
from localcloud.sagemaker.training_runner import TrainingRunner
from localcloud.sagemaker.workers import Workers


class Emulator:
    """SageMaker's control plane and runtime on one local port.

    `Emulator(s3_endpoint_url=stack.endpoint_url).start()`; point boto3 at `.url` for both the
    `sagemaker` and `sagemaker-runtime` clients (AWS_ENDPOINT_URL_SAGEMAKER and
    AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME). Port 0 picks a free port.
    """

    def __init__(
        self,
        *,
        s3_endpoint_url: str | None = None,
        faults: Faults | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT_ID,
    ) -> None:
        account = Account(region, account_id)
        self.store = Store(account)
        self.faults = FaultState(faults or Faults())
        self._workers = Workers()
        s3 = S3(s3_endpoint_url, region)
        logs = TrainingLogs(s3_endpoint_url, region)
        runner = TrainingRunner(self.store, s3, self.faults, self._workers, logs)
        self._hosts = ScriptHosts(s3)
        deployer = Deployer(self.store, s3, self.faults, self._workers, self._hosts)
        table = operations(
            TrainingJobs(self.store, s3, runner),
            Models(self.store, s3),
            EndpointConfigs(self.store),
            Endpoints(self.store, deployer, self.faults),
            Tags(self.store),
            Registry(self.store),
        )
        self._app = App(table, Runtime(self.store, self.faults, account), self.faults)
        self._address = (host, port)
        self._server: HttpServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Emulator:
        if self._workers.closing:
            raise RuntimeError("a stopped emulator cannot be restarted; create a new one")
        if self._server is None:
            self._server = HttpServer(self._address, self._app)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.1},
                name="sagemaker-emulator",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        self._workers.shutdown()
        self._hosts.close_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start() first")
        host = self._address[0]
        # A wildcard bind is reachable on loopback; clients cannot connect to 0.0.0.0 itself.
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        return f"http://{shown}:{self._server.server_port}"

    def set_faults(self, **changes: Any) -> Faults:
        """Change some faults for everything that starts from now on, e.g. training_seconds=2."""
        return self.faults.update(changes)

    def reset_faults(self) -> Faults:
        return self.faults.reset()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
