"""Logger and metrics, created once per container. Nothing personal is ever logged.

Log lines carry hashed ids and reason codes; metric dimensions are bounded (source,
topic, mode, kind), never a person, a post or an exception's class name.

Metrics cost by the series (name × dimension values) and their EMF blobs by the log
byte: inside a handler (`metrics.log_metrics`: the invocation, a whole SQS batch) every
count() is gathered and written as one EMF blob at the end, with one directive per
dimension set. Only a second value of one dimension in the same scope (complaints about
two topics) needs another blob. An invocation cut off by its timeout writes none: its
records' decision lines still say what was decided. Outside a scope (scripts, tests) a
count is written at once. docs/cost.md has the series budget.
"""

from __future__ import annotations

import functools
import json
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

NAMESPACE = "Socialcare"

warnings.filterwarnings("ignore", message="No application metrics to publish")

# Log ingestion is paid by the byte (docs/cost.md): of Lambda's context only the request
# id stays on each line. The log group names the function and its memory size, every log
# event has CloudWatch's own timestamp, and the REPORT line's Init Duration marks a cold
# start; `service` is the same on every line.
_CONTEXT_KEYS = ("function_name", "function_arn", "function_memory_size", "cold_start")


class _LeanFormatter(LambdaPowertoolsFormatter):
    @staticmethod
    def _build_default_keys() -> dict[str, str]:
        return {"level": "%(levelname)s"}  # no timestamp: the log event's own is the same

    def serialize(self, log: Any) -> str:
        # The request id only where an operator traces a failure: on an INFO line (a
        # decision, most lines) it is 58 bytes of ~330, and a log stream is one execution
        # environment running one invocation at a time, between START and END RequestId.
        if log.get("level") == "INFO":
            log.pop("function_request_id", None)
        return super().serialize(log)


class _Logger(Logger):
    @property
    def _default_log_keys(self) -> dict[str, Any]:
        return {}  # Powertools' service and sampling rate: the same on every line

    @_default_log_keys.setter
    def _default_log_keys(self, _keys: dict[str, Any]) -> None:
        pass

    def append_keys(self, **additional_keys: object) -> None:
        super().append_keys(**_lean(additional_keys))

    def structure_logs(self, *args: Any, **keys: Any) -> None:  # inject_lambda_context's
        super().structure_logs(*args, **_lean(keys))


def _lean(keys: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in keys.items() if k not in _CONTEXT_KEYS}


logger = _Logger(service="socialcare", logger_formatter=_LeanFormatter())

F = TypeVar("F", bound=Callable[..., Any])


class _Blob:
    """One EMF document: dimension values at the root, one directive per dimension set."""

    def __init__(self) -> None:
        self.dims: dict[str, str] = {}
        self.values: dict[str, list[float]] = {}
        self.sets: dict[str, tuple[str, ...]] = {}  # metric -> its dimension names

    def takes(self, name: str, dims: dict[str, str]) -> bool:
        if name in self.sets and self.sets[name] != tuple(sorted(dims)):
            return False
        return all(self.dims.get(k, v) == v for k, v in dims.items())

    def add(self, name: str, value: float, dims: dict[str, str]) -> None:
        self.dims.update(dims)
        self.sets[name] = tuple(sorted(dims))
        self.values[name] = [self.values.get(name, [0.0])[0] + value]

    def document(self) -> str:
        directives: dict[tuple[str, ...], list[str]] = {}
        for name, names in self.sets.items():
            directives.setdefault(names, []).append(name)
        emf = {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [list(names)],
                    # No Unit (optional in EMF): no alarm or widget names one, and
                    # it would be 15 log bytes a metric.
                    "Metrics": [{"Name": n} for n in metrics],
                }
                for names, metrics in directives.items()
            ],
        }
        return json.dumps({"_aws": emf, **self.dims, **self.values}, separators=(",", ":"))


_scope: list[_Blob] | None = None


def count(name: str, value: float = 1, **dimensions: str) -> None:
    """Count `value` of `name`; within a scope it joins the scope's blob."""
    blobs = _scope if _scope is not None else []
    blob = next((b for b in blobs if b.takes(name, dimensions)), None)
    if blob is None:
        blob = _Blob()
        blobs.append(blob)
    blob.add(name, value, dimensions)
    if _scope is None:
        _write([blob])


def _write(blobs: list[_Blob]) -> None:
    for blob in blobs:
        if blob.values:
            print(blob.document(), file=sys.stdout, flush=True)


@contextmanager
def metric_scope() -> Iterator[None]:
    """Gather counts until the end of the block (nested blocks flush into their own)."""
    global _scope
    outer, _scope = _scope, []
    try:
        yield
    finally:
        blobs, _scope = _scope, outer
        _write(blobs)


class _Metrics:
    """The handlers' `@metrics.log_metrics(...)`: one scope per invocation. No cold-start
    metric: it would be a series per function, and Lambda's REPORT line has Init Duration."""

    def log_metrics(self, func: F | None = None, **_options: Any) -> Any:
        def wrap(handler: F) -> F:
            @functools.wraps(handler)
            def scoped(*args: Any, **kwargs: Any) -> Any:
                with metric_scope():
                    return handler(*args, **kwargs)

            return scoped  # type: ignore[return-value]

        return wrap(func) if func is not None else wrap


metrics = _Metrics()
