"""The saved Logs Insights queries ask for fields the worker's summary lines really carry."""

from __future__ import annotations

import re
import time
from pathlib import Path

import hcl2

from handlers.aws import endpoint_wait
from service.dispatch import Identity, Processed
from service.inflight import Entry
from service.settle import Verdict
from service.settler import _summary
from service.transport import Received

ROOT = Path(__file__).resolve().parents[2]
# Besides the summary's own fields: the log line's, and what handlers note (an error, a decision).
LINE = {"@timestamp", "event", "error", "decision"}
FIELD = re.compile(r"\b([a-z_]+_ms|run_id|stage|outcome|message_id|receive_count|queue)\b")


def saved_queries() -> dict[str, str]:
    with (ROOT / "deploy" / "observability.tf").open() as source:
        parsed = hcl2.load(source)
    [found] = [block["saved_queries"] for block in parsed["locals"] if "saved_queries" in block]
    return {name.strip('"'): str(query) for name, query in found.items()}


def summary_keys() -> set[str]:
    """The fields of a summary line of a stage that waited for an endpoint."""
    received = Received("stages", "u", "m", "r", "{}", 1, sent_at=time.time())
    entry = Entry(received=received, handler_seconds=0.1)
    notes = {endpoint_wait.NOTE: 1.0}
    processed = Processed(Verdict(outcome="ok"), Identity("t", "s", "r"), 0, notes)
    return set(_summary(entry, processed, Verdict(outcome="ok"), None))


def test_every_field_a_saved_query_names_is_in_the_summary_lines() -> None:
    known = summary_keys() | LINE
    queries = saved_queries()
    for name, query in queries.items():
        aliases = set(re.findall(r"\bas ([a-z_0-9]+)", query))  # the query's own columns
        fields = set(FIELD.findall(query)) - aliases
        assert fields <= known, (name, fields - known)
    assert {"queued_ms", "handler_ms", "endpoint_wait_ms"} <= set(
        FIELD.findall(queries["where-the-time-goes"])
    )
