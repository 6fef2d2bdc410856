"""The fault suite's tools: a row per fault for the table, Lambda's SQS poller run by
several containers at once, and what the functions wrote (decision lines, metrics),
captured line by line from every thread."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import requests

from socialcare_cli import lambda_local, local_aws
from socialcare_cli.template import Stack


# ------------------------------------------------------------------ the emulator
class Emulator:
    """moto's server on 127.0.0.1 that can be stopped and started again on its port, its
    state kept (moto holds its backends in this process; only the server goes).

    Requests are served one at a time: DynamoDB applies each conditional write or ADD to
    an item atomically, and moto's backends, under concurrent server threads, do not (a
    loaded machine showed lost ADDs). The clients still race freely."""

    def __init__(self) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.port = local_aws.free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._app = DomainDispatcherApplication(create_backend_app)
        self._lock = threading.Lock()
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.start()

    def _serialized(self, environ: Any, start_response: Any) -> Any:
        with self._lock:
            return self._app(environ, start_response)

    def start(self) -> None:
        from moto.moto_server.werkzeug_app import MotoRequestHandler
        from werkzeug.serving import make_server

        self._server = make_server(
            "127.0.0.1", self.port, self._serialized, True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()  # free the port: clients get "connection refused"
        if self._thread is not None:
            self._thread.join()

    def restart(self, down_s: float) -> None:
        """Down for `down_s` seconds, then back with everything it held."""
        self.stop()
        time.sleep(down_s)
        self.start()


# ------------------------------------------------------------------ the table
@dataclass
class Row:
    fault: str
    expected: str  # what "nothing lost, nothing twice" means for this fault
    cases: int = 0
    lost: int = 0
    duplicated: int = 0
    seconds: float = 0.0
    note: str = ""


ROWS: list[Row] = []


@contextlib.contextmanager
def row(fault: str, expected: str) -> Iterator[Row]:
    entry = Row(fault, expected)
    started = time.perf_counter()
    try:
        yield entry
    finally:
        entry.seconds = time.perf_counter() - started
        ROWS.append(entry)


def table() -> list[str]:
    head = ("fault", "cases", "lost", "duplicated", "time s", "counted")
    rows = [
        (r.fault, str(r.cases), str(r.lost), str(r.duplicated), f"{r.seconds:.1f}", r.expected)
        for r in ROWS
    ]
    widths = [max(len(x[i]) for x in [head, *rows]) for i in range(len(head))]

    def line(cells: tuple[str, ...]) -> str:
        pairs = enumerate(zip(cells, widths, strict=True))
        return "  ".join(c.ljust(w) if i in (0, 5) else c.rjust(w) for i, (c, w) in pairs).rstrip()

    notes = [f"  {r.fault}: {r.note}" for r in ROWS if r.note]
    lost, twice = sum(r.lost for r in ROWS), sum(r.duplicated for r in ROWS)
    summary = f"{sum(r.cases for r in ROWS)} cases, {lost} lost, {twice} duplicated"
    return [line(head), *(line(r) for r in rows), summary, *(["notes:", *notes] if notes else [])]


# ------------------------------------------------------------------ what was written
class Lines(io.TextIOBase):
    """stdout, stderr and the log handlers of every thread, kept as whole lines: EMF
    blobs are printed in two writes, which threads would otherwise interleave."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._partial = threading.local()
        self.lines: list[str] = []

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        pending = getattr(self._partial, "text", "") + text
        *done, self._partial.text = pending.split("\n")
        if done:
            with self._lock:
                self.lines.extend(done)
        return len(text)

    def records(self) -> list[dict[str, Any]]:
        out = []
        for line in list(self.lines):
            with contextlib.suppress(ValueError):
                parsed = json.loads(line)
                if isinstance(parsed, dict):
                    out.append(parsed)
        return out

    def decisions(self, stage: str = "triage") -> list[dict[str, Any]]:
        return [
            r for r in self.records() if r.get("message") == "decision" and r.get("stage") == stage
        ]

    def metric(self, name: str) -> int:
        """The sum of a metric over the EMF blobs (one per invocation)."""
        return int(sum(sum(r[name]) for r in self.records() if name in r and "_aws" in r))


@contextlib.contextmanager
def captured() -> Iterator[Lines]:
    lines = Lines()
    handlers = [
        h for h in logging.getLogger("socialcare").handlers if isinstance(h, logging.StreamHandler)
    ]
    old = [h.setStream(lines) for h in handlers]
    try:
        with contextlib.redirect_stdout(lines), contextlib.redirect_stderr(lines):
            yield lines
    finally:
        for handler, stream in zip(handlers, old, strict=True):
            if stream is not None:
                handler.setStream(stream)


def sent_to(endpoint: str) -> Counter[str]:
    """E-mails SES accepted, by recipient (moto keeps them)."""
    data = requests.get(f"{endpoint}/moto-api/data.json", timeout=10).json()
    return Counter(m["destinations"][0] for m in data.get("ses", {}).get("RawMessage", []))


def depth(stack: Stack, logical: str) -> int:
    attrs = boto3.client("sqs").get_queue_attributes(
        QueueUrl=stack.physical[logical], AttributeNames=["All"]
    )["Attributes"]
    keys = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
    return sum(int(attrs[k]) for k in (*keys, "ApproximateNumberOfMessagesDelayed"))


# ------------------------------------------------------------------ Lambda's poller
@dataclass
class Consumer:
    """One function's SQS event source: `containers` copies of the handler (each loaded
    on its own, as Lambda runs concurrent invocations in separate containers) polling
    the queue at once, deleting what succeeded, releasing what failed."""

    stack: Stack
    function: str
    handlers: list[Callable[..., Any]]
    batch_size: int = 10
    timeout_s: int = 30
    errors: list[str] = field(default_factory=list)

    def drain(
        self, until: Callable[[], bool] | None = None, idle_s: float = 1.5, limit_s: float = 120
    ) -> None:
        """Poll with every container until the queue stays empty for `idle_s` (or `until`
        says done); AWS errors (the emulator down) are waited out, as Lambda does. After
        `limit_s` it stops anyway: what is left then counts as lost, never as a hang."""
        logical, _ = self.stack.sqs_event(self.function)
        url, arn = self.stack.physical[logical], self.stack.attributes[(logical, "Arn")]
        stop = threading.Event()
        idle_since = [time.monotonic()]
        lock = threading.Lock()

        def container(handler: Callable[..., Any]) -> None:
            sqs = boto3.session.Session().client("sqs")
            while not stop.is_set():
                try:
                    got = sqs.receive_message(
                        QueueUrl=url,
                        MaxNumberOfMessages=self.batch_size,
                        AttributeNames=["All"],
                        MessageAttributeNames=["All"],
                        WaitTimeSeconds=0,
                    ).get("Messages", [])
                except Exception as exc:
                    self.errors.append(type(exc).__name__)
                    time.sleep(0.2)
                    continue
                if not got:
                    time.sleep(0.05)
                    continue
                with lock:
                    idle_since[0] = time.monotonic()
                self._invoke(sqs, url, arn, handler, got)

        threads = [threading.Thread(target=container, args=(h,)) for h in self.handlers]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + limit_s
        try:
            while time.monotonic() < deadline:
                time.sleep(0.1)
                with lock:
                    quiet = time.monotonic() - idle_since[0] > idle_s
                if (until and until()) or (until is None and quiet and self._empty(url)):
                    break
        finally:
            stop.set()
            for thread in threads:
                thread.join()

    def _empty(self, url: str) -> bool:
        try:
            attrs = boto3.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
        except Exception:
            return False
        names = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
        return all(
            attrs["Attributes"][n] == "0" for n in (*names, "ApproximateNumberOfMessagesDelayed")
        )

    def _invoke(
        self, sqs: Any, url: str, arn: str, handler: Callable[..., Any], got: list[Any]
    ) -> None:
        event = {"Records": [lambda_local._event_record(m, arn) for m in got]}
        try:
            answer = handler(event, lambda_local.FakeContext(self.function, self.timeout_s))
            failed = {f["itemIdentifier"] for f in (answer or {}).get("batchItemFailures", [])}
        except Exception as exc:  # the invocation failed: Lambda deletes nothing
            self.errors.append(type(exc).__name__)
            failed = {m["MessageId"] for m in got}
        done = [m for m in got if m["MessageId"] not in failed]
        with contextlib.suppress(Exception):  # if SQS is down, the messages come back
            if done:
                sqs.delete_message_batch(
                    QueueUrl=url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(done)
                    ],
                )


def consumer(stack: Stack, function: str, containers: int = 1, **env: str) -> Consumer:
    _, props = stack.sqs_event(function)
    local = {"HTTP_BACKOFF_S": "0.01", **env}
    handlers = [lambda_local.load_handler(stack, function, local)[1] for _ in range(containers)]
    return Consumer(stack, function, handlers, batch_size=props["BatchSize"])
