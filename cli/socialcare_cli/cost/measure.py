"""Measure the cost model's inputs on the emulator: `python -m socialcare_cli.cost.measure`.

Runs the demo (the sample posts through every function, against moto's server) and
records, per function, invocations, records, wall and CPU time, and the AWS API calls
its handlers made, plus the log bytes and EMF blobs per mention. Writes measured.json
beside this file, dated; `socialcare cost` reads it when bench-out/bench.json is absent.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

from socialcare_cli import lambda_local

MEASURED = Path(__file__).with_name("measured.json")


@contextmanager
def instrumented(calls: Counter[str], timing: dict[str, dict[str, float]]) -> Iterator[None]:
    from botocore.client import BaseClient

    real_call = BaseClient._make_api_call  # type: ignore[attr-defined]  # botocore's, untyped
    real_load = lambda_local.load_handler
    active: list[str] = []

    def call(self: Any, operation: str, params: Any) -> Any:
        if active:
            calls[f"{active[-1]} {self.meta.service_model.service_name}:{operation}"] += 1
        return real_call(self, operation, params)

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

    with ExitStack() as patched:
        patched.enter_context(mock.patch.object(BaseClient, "_make_api_call", call))
        patched.enter_context(mock.patch.object(lambda_local, "load_handler", load))
        yield


def measure() -> dict[str, Any]:
    from socialcare_cli import demo

    calls: Counter[str] = Counter()
    timing: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp, instrumented(calls, timing):
        result = demo.run_demo(Path(tmp), progress=lambda *_: None)
        # As Lambda writes them: compact JSON (the demo's file is spaced for reading).
        logs = [
            json.dumps(json.loads(line), separators=(",", ":"), ensure_ascii=False).encode()
            for line in (Path(tmp) / "logs.jsonl").read_bytes().splitlines()
        ]
        decisions = (Path(tmp) / "decisions.jsonl").read_text().splitlines()
    mentions = len(decisions)
    emf = [line for line in logs if b'"_aws"' in line]
    funnel = {k: v for k, v in vars(result).items() if isinstance(v, int)}
    return {
        "measured_on": datetime.now(UTC).date().isoformat(),
        "how": "python -m socialcare_cli.cost.measure: the demo's sample on moto's server",
        "mentions": mentions,
        "emailed": sum(1 for d in decisions if '"stage": "mailer"' in d or '"stage":"mailer"' in d),
        "funnel": funnel,
        "log_bytes_per_mention": round(sum(len(x) + 1 for x in logs) / mentions, 1),
        "emf_bytes_per_mention": round(sum(len(x) + 1 for x in emf) / mentions, 1),
        "emf_blobs_per_mention": round(len(emf) / mentions, 2),
        "functions": {
            name: {
                **{k: round(v, 4) for k, v in row.items()},
                "calls": {
                    k.split(" ", 1)[1]: n for k, n in sorted(calls.items()) if k.startswith(name)
                },
            }
            for name, row in sorted(timing.items())
        },
    }


def main() -> None:
    report = measure()
    MEASURED.write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    print(json.dumps({k: v for k, v in report.items() if k != "functions"}, indent=2))


if __name__ == "__main__":
    main()
