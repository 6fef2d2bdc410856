"""`make faults`: the fault table through the emulator (moto's server on 127.0.0.1, the
handlers loaded from template.yaml as Lambda loads them). The emulator here can be
stopped and started again on its port, its state kept, as a restart looks to a client."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests

from socialcare_cli import local_aws
from socialcare_cli.template import Stack
from tests.faults.harness import ROWS, table


class Emulator:
    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.port = local_aws.free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()

    def stop(self) -> None:
        self.server.stop()
        if self.server._server is not None:  # free the port: clients get "refused"
            self.server._server.server_close()

    def restart(self, down_s: float) -> None:
        """Down for `down_s` seconds, then back with everything it held (moto keeps its
        backends in this process; only the server goes)."""
        self.stop()
        time.sleep(down_s)
        for _ in range(50):
            try:
                self.server.start()
                return
            except OSError:  # the port is still being released
                time.sleep(0.1)
        raise RuntimeError("the emulator did not come back")

    def up(self) -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0


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
