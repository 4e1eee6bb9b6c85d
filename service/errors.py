"""The one place that says which failures are permanent (the failures themselves: failures.py).

A handler raises `RetryableError` (try later), `PermanentError` (never again: dead-letter now)
or `DuplicateDelivery` (another delivery has this work: settle as a duplicate). Anything else is
classified by `is_permanent`: AWS errors by their code and HTTP status, everything unexpected as
retryable (until the queue's last allowed receive).
"""

from __future__ import annotations

from botocore.exceptions import ClientError, ParamValidationError

from service.failures import HandlerError, PermanentError

# Codes AWS uses for "slow down" and "try again": botocore's standard retry mode lists the same
# (botocore/retries/standard.py: ThrottledRetryableChecker, TransientRetryableChecker).
RETRYABLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        # Credentials that expired mid-flight are refreshed by the SDK on the next attempt.
        "ExpiredToken",
        "ExpiredTokenException",
        "RequestExpired",
    }
)
RETRYABLE_STATUS = frozenset({408, 429})


def is_permanent(exc: BaseException) -> bool:
    """Whether trying again cannot help. Validation, access denied, not found, limit exceeded
    (a quota, not a rate) and malformed requests are permanent; throttling, 5xx and timeouts are
    not; neither is anything unexpected (a bug or an outage gets its retries). A model's error
    is permanent when its container answered 4xx, not when it answered 5xx."""
    if isinstance(exc, PermanentError):
        return True
    if isinstance(exc, ParamValidationError):  # botocore refused to even send the request
        return True
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code == "ModelError":
            # InvokeEndpoint relays what the model's container answered (as HTTP 424): a 5xx
            # (a cold start, a worker that died) may pass; a 4xx is the request's fault.
            return _original_status(exc) < 500
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code in RETRYABLE_CODES or status in RETRYABLE_STATUS or status >= 500:
            return False
        return 400 <= status < 500 or (status == 0 and bool(code))
    return False


def _original_status(exc: ClientError) -> int:
    """A ModelError's container status (botocore puts the modelled member at the top level of
    the parsed response); 500 when it is missing, so an unknown one is retried."""
    found: object = dict(exc.response).get("OriginalStatusCode", 500)
    return found if isinstance(found, int) and not isinstance(found, bool) else 500


def ends_message(exc: BaseException, last_attempt: bool) -> bool:
    """Whether this failure is the message's end: trying again cannot help, or the queue allows
    no other attempt (the handler records it as final; the runtime dead-letters it)."""
    return is_permanent(exc) or last_attempt


def reason_of(exc: BaseException, *, with_type: bool = False) -> str:
    """What went wrong, for a person: a HandlerError's own reason (prefixed with its type with
    `with_type`, as the dead-letter reason reads), any other exception's type and message."""
    if isinstance(exc, HandlerError):
        return f"{type(exc).__name__}: {exc.reason}" if with_type else exc.reason
    return f"{type(exc).__name__}: {exc}"
