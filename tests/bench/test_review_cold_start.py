"""Cold starts of the Function URL handlers: a fresh interpreter imports the function's
app.py with the template's environment (as Lambda's init does), then answers one event,
against moto's server. Review: its sample event (events/review_confirm.json: a GET of
/approve whose token KMS is asked to open). ReceiveWebhook: an unsigned Google push to
`/google` with the push sources on (its init builds Meta's and the push routes' runtimes,
oidc.py among them; the answer is 401 before any key is fetched). Beside each, bare
`import boto3` in a fresh interpreter, the floor every function pays. Figures only (`make
bench`): speed targets do not belong in timed tests.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from socialcare_cli import local_aws
from socialcare_cli.lambda_local import function_url_event, handler_path
from socialcare_cli.local_aws import FAKE_ENV
from socialcare_cli.template import REPO, Stack, load_template
from tests.integration import push_cases as push

PROBE = """
import json, sys, time
t0 = time.perf_counter()
import app
t1 = time.perf_counter()
from socialcare_cli.lambda_local import FakeContext
answer = app.handler(json.load(open(sys.argv[1])), FakeContext(sys.argv[2]))
t2 = time.perf_counter()
print(json.dumps({"import_ms": (t1 - t0) * 1e3, "first_event_ms": (t2 - t0) * 1e3,
                  "status": answer["statusCode"]}))
"""
BOTO3 = "import time; t = time.perf_counter(); import boto3; print((time.perf_counter() - t) * 1e3)"


def test_review_function_cold_start(benchmark: Any, stack: Stack, aws: str) -> None:
    event = REPO / "events" / "review_confirm.json"
    cold_start(benchmark, stack, aws, "ReviewFunction", event, 403)  # KMS refused the token


def test_receive_webhook_cold_start_with_the_push_routes(
    benchmark: Any, aws: str, tmp_path: Path
) -> None:
    stack = Stack(load_template(), overrides=push.PUSH_OVERRIDES)
    local_aws.provision(stack)
    event = tmp_path / "google_push.json"
    event.write_text(json.dumps(function_url_event("POST", "/google", None, "{}")))
    cold_start(benchmark, stack, aws, "ReceiveWebhookFunction", event, 401)


def cold_start(
    benchmark: Any, stack: Stack, aws: str, function: str, event: Path, status: int
) -> None:
    path, _ = handler_path(stack, function)
    env = {
        **os.environ,
        **FAKE_ENV,
        "AWS_ENDPOINT_URL": aws,
        **stack.function_environment(function),
        "PYTHONDONTWRITEBYTECODE": "1",  # Lambda's /opt is read-only
    }
    runs: list[dict[str, float]] = []
    floors: list[float] = []

    def once() -> None:
        out = subprocess.run(  # noqa: S603 - our own interpreter and files
            [sys.executable, "-c", PROBE, str(event), function],
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

    benchmark.pedantic(once, rounds=5, iterations=1)
    assert {r["status"] for r in runs} == {status}  # the first event did its work
    figures = {
        "import_ms": statistics.median(r["import_ms"] for r in runs),
        "first_event_ms": statistics.median(r["first_event_ms"] for r in runs),
        "import_boto3_ms": statistics.median(floors),
    }
    benchmark.extra_info.update({k: round(v, 1) for k, v in figures.items()})
    print(
        f"\n{function} cold start (median of 5): import {{import_ms:.0f}} ms, with the first "
        "event {first_event_ms:.0f} ms; bare import boto3 {import_boto3_ms:.0f} ms".format(
            **figures
        )
    )
