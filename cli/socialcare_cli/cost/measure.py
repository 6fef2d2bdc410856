"""Measure the cost model's inputs on the emulator: `python -m socialcare_cli.cost.measure`.

Runs the demo (the sample posts through every function, against moto's server) and
records, per function, invocations, records, wall and CPU time (the handler's thread:
the stand-in servers run in others), and the AWS API calls its handlers made, plus the
log bytes and EMF blobs per mention. Each SQS record is also measured alone and put in
a class by its decision: `plain` (decided without the CRM: not a complaint, own account,
repost, stale, duplicate), `complaint` (the CRM read, then a skip) and `contact`; the
first record of each function is left out of the classes (it builds the clients, reads
the secrets and loads the classifier: a cold start's work). The sample runs three times:
each class's figures are its median run's. Writes measured.json beside
this file, dated; `socialcare cost` reads it.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

from socialcare_cli import lambda_local

MEASURED = Path(__file__).with_name("measured.json")
PLAIN = {"not_complaint", "own_account", "repost", "stale", "duplicate"}
RUNS = 3  # the demo's sample this often: each class's CPU is the median run's


@dataclass
class Frame:
    """One SQS record's work."""

    function: str
    cpu_s: float = 0.0
    calls: Counter[str] = field(default_factory=Counter)
    http: int = 0  # requests to the CRM (or a platform): not AWS calls
    read_items: int = 0  # DynamoDB items read (a BatchGetItem reads several, each billed)
    reason: str | None = None

    @property
    def kind(self) -> str:
        if self.reason is None or self.reason in PLAIN:
            return "plain"
        return "contact" if self.reason == "contact" else "complaint"


class _Reasons(logging.Handler):
    def __init__(self, frames: list[Frame]) -> None:
        super().__init__()
        self.frames = frames

    def emit(self, record: logging.LogRecord) -> None:
        if self.frames and record.getMessage() == "decision":
            self.frames[-1].reason = getattr(record, "reason", None)


@contextmanager
def instrumented(
    calls: Counter[str], timing: dict[str, dict[str, float]], records: list[Frame]
) -> Iterator[None]:
    import requests
    from botocore.client import BaseClient

    from socialcare import batch

    real_call = BaseClient._make_api_call  # type: ignore[attr-defined]  # botocore's, untyped
    real_send, real_load, real_process = (
        requests.Session.send,
        lambda_local.load_handler,
        batch.process,
    )
    active: list[str] = []
    open_frames: list[Frame] = []

    def call(self: Any, operation: str, params: Any) -> Any:
        name = f"{self.meta.service_model.service_name}:{operation}"
        if active:
            calls[f"{active[-1]} {name}"] += 1
        if open_frames:
            open_frames[-1].calls[name] += 1
            open_frames[-1].read_items += _items_read(operation, params)
        return real_call(self, operation, params)

    def send(self: Any, request: Any, **kwargs: Any) -> Any:
        if open_frames:
            open_frames[-1].http += 1
        return real_send(self, request, **kwargs)

    def process(event: Any, model: Any, record_handler: Any, context: Any = None) -> Any:
        def measured(record: Any, ctx: Any) -> None:
            frame = Frame(active[-1] if active else "?")
            open_frames.append(frame)
            records.append(frame)
            start = time.thread_time()
            try:
                record_handler(record, ctx)
            finally:
                frame.cpu_s = time.thread_time() - start
                open_frames.pop()

        return real_process(event, model, measured, context)

    def load(stack: Any, logical_id: str, extra_env: Any = None) -> Any:
        module, invoke = real_load(stack, logical_id, extra_env)

        def timed(event: dict[str, Any], context: Any) -> Any:
            t, c = time.perf_counter(), time.thread_time()
            active.append(logical_id)
            try:
                return invoke(event, context)
            finally:
                active.pop()
                row = timing.setdefault(logical_id, {"invocations": 0, "records": 0})
                row["invocations"] += 1
                row["records"] += len(event.get("Records", [])) or 1
                row["wall_s"] = row.get("wall_s", 0) + time.perf_counter() - t
                row["cpu_s"] = row.get("cpu_s", 0) + time.thread_time() - c

        return module, timed

    reasons = _Reasons(open_frames)
    logging.getLogger("socialcare").addHandler(reasons)
    try:
        with ExitStack() as patched:
            patched.enter_context(mock.patch.object(BaseClient, "_make_api_call", call))
            patched.enter_context(mock.patch.object(requests.Session, "send", send))
            patched.enter_context(mock.patch.object(batch, "process", process))
            patched.enter_context(mock.patch.object(lambda_local, "load_handler", load))
            yield
    finally:
        logging.getLogger("socialcare").removeHandler(reasons)


def _items_read(operation: str, params: Any) -> int:
    if operation == "GetItem":
        return 1
    if operation == "BatchGetItem":
        return sum(len(table["Keys"]) for table in params["RequestItems"].values())
    return 0


def per_kind(records: list[Frame]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per function and class: records, CPU seconds, AWS calls and HTTP requests, summed;
    each function's first record is left out (a cold start's work)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    seen: set[str] = set()
    for frame in records:
        if frame.function not in seen:
            seen.add(frame.function)
            continue
        row = out.setdefault(frame.function, {}).setdefault(
            frame.kind,
            {"records": 0, "cpu_s": 0.0, "http": 0, "read_items": 0, "calls": Counter()},
        )
        row["records"] += 1
        row["read_items"] += frame.read_items
        row["cpu_s"] = round(row["cpu_s"] + frame.cpu_s, 4)
        row["http"] += frame.http
        row["calls"].update(frame.calls)
    for kinds in out.values():
        for row in kinds.values():
            row["calls"] = dict(sorted(row["calls"].items()))
    return out


def median_run(runs: list[dict[str, dict[str, dict[str, Any]]]]) -> dict[str, Any]:
    """Per function and class, the run with the median CPU: the same records and calls
    each run, but CPU time on a shared 2-core machine varies by a third between runs."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for function, kinds in runs[0].items():
        for kind in kinds:
            rows = sorted(
                (run[function][kind] for run in runs if kind in run.get(function, {})),
                key=lambda row: row["cpu_s"],
            )
            out.setdefault(function, {})[kind] = rows[len(rows) // 2]
    return out


def measure(runs: int = RUNS) -> dict[str, Any]:
    from socialcare_cli import demo

    calls: Counter[str] = Counter()
    timing: dict[str, dict[str, float]] = {}
    records: list[Frame] = []
    classes = []
    for _ in range(runs - 1):  # the classes' CPU again; the rest of the report is the last run's
        again: list[Frame] = []
        with tempfile.TemporaryDirectory() as tmp, instrumented(Counter(), {}, again):
            demo.run_demo(Path(tmp), progress=lambda *_: None)
        classes.append(per_kind(again))
    with tempfile.TemporaryDirectory() as tmp, instrumented(calls, timing, records):
        result = demo.run_demo(Path(tmp), progress=lambda *_: None)
        # As Lambda writes them: compact JSON (the demo's file is spaced for reading).
        logs = [
            json.dumps(json.loads(line), separators=(",", ":"), ensure_ascii=False).encode()
            for line in (Path(tmp) / "logs.jsonl").read_bytes().splitlines()
        ]
        decisions = [
            json.loads(d) for d in (Path(tmp) / "decisions.jsonl").read_text().splitlines()
        ]
    mentions = len(decisions)
    emf = [line for line in logs if b'"_aws"' in line]
    lines = [line for line in logs if b'"_aws"' not in line]
    funnel = {k: v for k, v in vars(result).items() if isinstance(v, int)}
    return {
        "measured_on": datetime.now(UTC).date().isoformat(),
        "how": "python -m socialcare_cli.cost.measure: the demo's sample on moto's server",
        "mentions": mentions,
        "emailed": sum(1 for d in decisions if d.get("stage") == "mailer"),
        # Review links are sealed by KMS: in live mode only name matches go to review.
        "name_matched_share": _name_matched(decisions),
        "funnel": funnel,
        "log_bytes_per_mention": round(sum(len(x) + 1 for x in logs) / mentions, 1),
        "emf_bytes_per_mention": round(sum(len(x) + 1 for x in emf) / mentions, 1),
        "emf_blobs_per_mention": round(len(emf) / mentions, 2),
        # What the model prices per mention of each kind: the lines each stage writes.
        "line_bytes": _line_bytes(lines),
        "emf_bytes_per_blob": round(sum(len(x) + 1 for x in emf) / max(1, len(emf)), 1),
        "functions": {
            name: {
                **{k: round(v, 4) for k, v in row.items()},
                "calls": {
                    k.split(" ", 1)[1]: n for k, n in sorted(calls.items()) if k.startswith(name)
                },
            }
            for name, row in sorted(timing.items())
        },
        "runs": runs,
        "per_record": median_run([*classes, per_kind(records)]),
    }


def _name_matched(decisions: list[dict[str, Any]]) -> float:
    contacts = [d for d in decisions if d.get("stage") == "triage" and d["reason"] == "contact"]
    return round(sum(1 for d in contacts if d.get("match") == "name") / max(1, len(contacts)), 2)


def _line_bytes(lines: list[bytes]) -> dict[str, float]:
    """Mean bytes of the decision line per stage and of the other lines per run."""
    sizes: dict[str, list[int]] = {}
    for raw in lines:
        line = json.loads(raw)
        key = f"decision {line.get('stage')}" if line.get("message") == "decision" else "other"
        sizes.setdefault(key, []).append(len(raw) + 1)
    return {k: round(sum(v) / len(v), 1) for k, v in sorted(sizes.items())}


def main() -> None:
    report = measure()
    MEASURED.write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    print(
        json.dumps(
            {k: v for k, v in report.items() if k not in ("functions", "per_record")}, indent=2
        )
    )


if __name__ == "__main__":
    main()
