"""One line for each mistake a person makes at the command line, instead of a traceback.

`automlops` commands raise what they raise; `main` asks `explained` for a line that says what
went wrong and what to do, and prints it with exit code 1. An error it does not recognise is a
bug of ours and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from service.failures import PermanentError

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

RESTART_HINT = (
    "is the stack running? `automlops local --env-file FILE` gets new ports at every start: "
    "source the file it writes again (set -a; . FILE; set +a)"
)
REMOTE_HINT = "check the network, AWS_REGION and any AWS_ENDPOINT_URL* setting"
# The project's own packages: a file of theirs missing is a bug of ours, not a person's mistake
# (a person's files may well be in the checkout: `reports/`, data beside the code).
_ROOT = Path(__file__).resolve().parents[1]
_OWN = tuple(_ROOT / package for package in ("automlops", "handlers", "service", "localcloud"))


def explained(exc: BaseException) -> str | None:
    """What to tell the person, or None when the error is not one of theirs."""
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
    )

    if isinstance(exc, EndpointConnectionError):
        where = _origin(str(exc.kwargs.get("endpoint_url", "")))
        local = urlsplit(where).hostname in ("127.0.0.1", "localhost", "::1")
        return f"cannot reach AWS at {where}: {RESTART_HINT if local else REMOTE_HINT}"
    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or a profile)"
    if isinstance(exc, NoRegionError):
        return "no AWS region: set AWS_REGION"
    if isinstance(exc, ClientError):
        return _client_error(exc)
    if isinstance(exc, OSError) and not isinstance(exc, TimeoutError):
        return _file_error(exc)
    if isinstance(exc, PermanentError | TimeoutError):
        return str(exc) or type(exc).__name__
    return None


def _file_error(exc: OSError) -> str | None:
    if exc.filename is None:
        return None
    if any(Path(str(exc.filename)).resolve().is_relative_to(own) for own in _OWN):
        return None
    said = {
        FileNotFoundError: "no such file or folder",
        PermissionError: "permission denied",
    }.get(type(exc), exc.strerror or type(exc).__name__)
    return f"{exc.filename}: {said}"


def _client_error(exc: ClientError) -> str | None:
    code = exc.response.get("Error", {}).get("Code", "")
    bucket = exc.response.get("Error", {}).get("BucketName", "")
    if code == "NoSuchBucket":
        named = f" {bucket}" if bucket else ""
        return (
            f"the bucket{named} does not exist: check the AUTOMLOPS_*_BUCKET settings (an env "
            "file from an earlier `automlops local` names that stack's buckets)"
        )
    if code == "AWS.SimpleQueueService.NonExistentQueue" or code == "QueueDoesNotExist":
        return (
            "the queue does not exist: check AUTOMLOPS_STAGES_QUEUE_URL (an env file from an "
            "earlier `automlops local` names that stack's queues)"
        )
    if code in (
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
        "ExpiredToken",
        "ExpiredTokenException",
        "AccessDenied",
        "AccessDeniedException",
    ):
        message = exc.response.get("Error", {}).get("Message", "")
        return (
            f"AWS refused {exc.operation_name} ({code}: {message}): check the credentials and "
            "their permissions"
        )
    return None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else url or "its endpoint"
