"""Cold start of the Review function: a fresh interpreter imports functions/review/app.py
with the template's environment (as Lambda's init does), then answers its sample event
(events/review_confirm.json: a GET of /approve whose token KMS is asked to open), against
moto's server. Beside it, bare `import boto3` in a fresh interpreter, the floor every
function pays. Figures only (`make bench`): speed targets do not belong in timed tests.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from typing import Any

from socialcare_cli.lambda_local import handler_path
from socialcare_cli.local_aws import FAKE_ENV
from socialcare_cli.template import REPO, Stack

PROBE = """
import json, sys, time
t0 = time.perf_counter()
import app
t1 = time.perf_counter()
from socialcare_cli.lambda_local import FakeContext
answer = app.handler(json.load(open(sys.argv[1])), FakeContext("ReviewFunction"))
t2 = time.perf_counter()
print(json.dumps({"import_ms": (t1 - t0) * 1e3, "first_event_ms": (t2 - t0) * 1e3,
                  "status": answer["statusCode"]}))
"""
BOTO3 = "import time; t = time.perf_counter(); import boto3; print((time.perf_counter() - t) * 1e3)"


def test_review_function_cold_start(benchmark: Any, stack: Stack, aws: str) -> None:
    path, _ = handler_path(stack, "ReviewFunction")
    env = {
        **os.environ,
        **FAKE_ENV,
        "AWS_ENDPOINT_URL": aws,
        **stack.function_environment("ReviewFunction"),
        "PYTHONDONTWRITEBYTECODE": "1",  # Lambda's /opt is read-only
    }
    event = str(REPO / "events" / "review_confirm.json")
    runs: list[dict[str, float]] = []
    floors: list[float] = []

    def cold_start() -> None:
        out = subprocess.run(  # noqa: S603 - our own interpreter and files
            [sys.executable, "-c", PROBE, event],
            cwd=path.parent,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
        floor = subprocess.run(  # noqa: S603
            [sys.executable, "-c", BOTO3], env=env, capture_output=True, text=True, check=True
        ).stdout
        floors.append(float(floor.strip()))

    benchmark.pedantic(cold_start, rounds=5, iterations=1)
    assert {r["status"] for r in runs} == {403}  # the first event did its work: KMS refused
    figures = {
        "import_ms": statistics.median(r["import_ms"] for r in runs),
        "first_event_ms": statistics.median(r["first_event_ms"] for r in runs),
        "import_boto3_ms": statistics.median(floors),
    }
    benchmark.extra_info.update({k: round(v, 1) for k, v in figures.items()})
    print(
        "\nReviewFunction cold start (median of 5): import {import_ms:.0f} ms, with the first "
        "event {first_event_ms:.0f} ms; bare import boto3 {import_boto3_ms:.0f} ms".format(
            **figures
        )
    )
