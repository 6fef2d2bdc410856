"""`make faults`: the fault table through the emulator (moto's server on 127.0.0.1, the
handlers loaded from template.yaml as Lambda loads them). The emulator here can be
stopped and started again on its port, its state kept, as a restart looks to a client."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests

from socialcare_cli import local_aws
from socialcare_cli.template import Stack
from tests.faults.harness import ROWS, Emulator, table


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    emulator = Emulator()
    saved = {k: os.environ.get(k) for k in [*local_aws.FAKE_ENV, "AWS_ENDPOINT_URL"]}
    os.environ.update(local_aws.FAKE_ENV)
    os.environ["AWS_ENDPOINT_URL"] = emulator.endpoint
    requests.post(f"{emulator.endpoint}/moto-api/reset", timeout=10)
    yield emulator
    emulator.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def moto_endpoint(emulator: Emulator) -> str:
    """The shared fixtures (aws, stack, handler) run on this emulator."""
    return emulator.endpoint


@pytest.fixture
def quick(stack: Stack) -> Stack:
    """The stack with 2 s visibility timeouts: a failed record comes back in 2 s, not 3
    minutes (maxReceiveCount and the DLQs stay as the template has them)."""
    sqs = boto3.client("sqs")
    for logical in ("MentionsQueue", "OutreachQueue"):
        sqs.set_queue_attributes(
            QueueUrl=stack.physical[logical], Attributes={"VisibilityTimeout": "2"}
        )
    return stack


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if ROWS:
        terminalreporter.section("fault table")
        for line in table():
            terminalreporter.write_line(line)


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    if any(r.lost or r.duplicated for r in ROWS) and exitstatus == 0:
        session.exitstatus = 1
