"""Run the handlers locally the way Lambda does: import functions/<name>/app.py as `app`
with the function's environment from the template, and drive SQS-triggered ones with a
poller that behaves like Lambda's event source mapping.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3

from socialcare_cli.template import REPO, Stack

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class FakeContext:
    function_name: str
    timeout_s: int = 30
    memory_limit_in_mb: int = 256
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        self.invoked_function_arn = (
            f"arn:aws:lambda:eu-west-1:123456789012:function:{self.function_name}"
        )
        self._deadline = time.time() + self.timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


class _Environment:
    """The functions' environment variables, laid over `os.environ` as a handler runs.

    Only the Python mapping changes, never the C environment: handlers, boto3 and
    Powertools read `os.environ`, while setenv/unsetenv race C-level getenv in other
    threads (libfaketime reads its clock that way while a thread waits for the GIL)
    and crashed the test suite once. Each key counts its holders, so handlers served
    at once on a threaded server share a value and the original returns when the last
    one leaves.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, tuple[int, str | None]] = {}

    def enter(self, values: dict[str, str]) -> None:
        with self._lock:
            for key, value in values.items():
                count, original = self._held.get(key, (0, os.environ.get(key)))
                self._held[key] = (count + 1, original)
                self._set(key, value)

    def leave(self, values: dict[str, str]) -> None:
        with self._lock:
            for key in values:
                count, original = self._held.pop(key)
                if count > 1:
                    self._held[key] = (count - 1, original)
                else:
                    self._set(key, original)

    @staticmethod
    def _set(key: str, value: str | None) -> None:
        data = os.environ._data  # type: ignore[attr-defined]  # the mapping without putenv
        name = os.environ.encodekey(key)
        if value is None:
            data.pop(name, None)
        else:
            data[name] = os.environ.encodevalue(value)


_ENVIRONMENT = _Environment()


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    _ENVIRONMENT.enter(values)
    try:
        yield
    finally:
        _ENVIRONMENT.leave(values)


def handler_path(stack: Stack, logical_id: str, base: Path = REPO) -> tuple[Path, str]:
    """The handler's file and function; `base` is where CodeUri is relative to (a
    `sam build` output keeps its template's paths relative to itself)."""
    props = stack.resources[logical_id]["Properties"]
    module, func = props["Handler"].rsplit(".", 1)
    return (base / props["CodeUri"] / f"{module.replace('.', '/')}.py").resolve(), func


def load_handler(
    stack: Stack, logical_id: str, extra_env: dict[str, str] | None = None
) -> tuple[ModuleType, Handler]:
    """Import the handler file as Lambda does (module name from Handler, fresh each time);
    the returned handler runs with the function's environment too, as it would in Lambda."""
    path, func = handler_path(stack, logical_id)
    env = {**stack.function_environment(logical_id), **(extra_env or {})}
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    with environment(env):
        spec.loader.exec_module(module)
    inner: Handler = getattr(module, func)

    @functools.wraps(inner)
    def invoke(event: dict[str, Any], context: Any) -> Any:
        with environment(env):
            return inner(event, context)

    return module, invoke


def _event_record(message: Any, queue_arn: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": "eu-west-1",
    }


@dataclass
class PollStats:
    batches: int = 0
    records: int = 0
    failures: int = 0
    crashes: int = 0


def poll(
    queue_url: str,
    queue_arn: str,
    handler: Handler,
    *,
    function_name: str,
    batch_size: int = 10,
    max_batches: int = 1000,
    idle_polls: int = 2,
) -> PollStats:
    """Lambda's SQS poller, locally: receive a batch, invoke, delete what succeeded.

    On `batchItemFailures` only the others are deleted; if the handler raises nothing is
    deleted. Failed messages are made visible again at once (Lambda would wait for the
    visibility timeout), so redrive to the DLQ after maxReceiveCount happens in seconds.
    """
    sqs = boto3.client("sqs")
    stats = PollStats()
    idle = 0
    while stats.batches < max_batches and idle < idle_polls:
        out = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(batch_size, 10),
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        )
        messages = out.get("Messages", [])
        if not messages:
            idle += 1
            continue
        idle = 0
        stats.batches += 1
        stats.records += len(messages)
        event = {"Records": [_event_record(m, queue_arn) for m in messages]}
        try:
            response = handler(event, FakeContext(function_name))
            failed = {f["itemIdentifier"] for f in (response or {}).get("batchItemFailures", [])}
        except Exception:
            stats.crashes += 1
            failed = {m["MessageId"] for m in messages}
        stats.failures += len(failed)
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)
                ],
            )
        for m in messages:
            if m["MessageId"] in failed:
                sqs.change_message_visibility(
                    QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
                )
    return stats


def function_url_event(
    method: str,
    path: str = "/",
    query: dict[str, str] | None = None,
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A Lambda Function URL (payload 2.0) event, as AWS builds it from an HTTP request."""
    import base64
    from urllib.parse import urlencode

    raw = body.encode() if isinstance(body, str) else body
    text_like = raw is None or _is_text(headers or {})
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": urlencode(query or {}, errors="surrogatepass"),  # probes send odd text
        "headers": {k.lower(): v for k, v in (headers or {}).items()},
        "queryStringParameters": dict(query) if query else None,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "local",
            "domainName": "local.lambda-url.eu-west-1.on.aws",
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": (headers or {}).get("User-Agent", "local"),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "timeEpoch": int(time.time() * 1000),
        },
        "body": None
        if raw is None
        else (raw.decode() if text_like else base64.b64encode(raw).decode()),
        "isBase64Encoded": not text_like,
    }


def _is_text(headers: dict[str, str]) -> bool:
    kind = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    return kind.startswith(("text/", "application/json", "application/x-www-form-urlencoded"))


def function_url_route(handler: Handler, name: str = "function-url") -> Callable[..., Any]:
    """A route for `servers.serve`: real HTTP in, Function URL event to the handler, out."""
    import base64

    def route(
        method: str, path: str, query: dict[str, list[str]], body: bytes, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        flat = {k: v[-1] for k, v in query.items()}
        event = function_url_event(method, path, flat, body or None, headers)
        result = handler(event, FakeContext(name))
        payload = result.get("body") or ""
        data = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode()
        out_headers = {k: str(v) for k, v in (result.get("headers") or {}).items()}
        return int(result.get("statusCode", 200)), out_headers, data

    return route
