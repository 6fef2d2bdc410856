"""Function URL requests (payload 2.0): GET and POST, read and routed by hand.

Powertools' event handler would route two methods on one path at the price of a quarter
of `import boto3` per cold start and ~2 MB of layer; its event data classes come with every
other event class. Answers are shaped as its resolver shaped them (404 elsewhere).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

NOT_FOUND = '{"statusCode":404,"message":"Not found"}'


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]  # repeated keys arrive comma-joined, as Lambda joins them
    headers: dict[str, str]  # names lower-cased
    body: str | None
    is_base64_encoded: bool

    @classmethod
    def of(cls, event: Mapping[str, Any]) -> Request:
        http = (event.get("requestContext") or {}).get("http") or {}
        return cls(
            method=str(http.get("method", "")).upper(),
            path=str(event.get("rawPath") or http.get("path") or "/"),
            query={str(k): str(v) for k, v in (event.get("queryStringParameters") or {}).items()},
            headers={str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()},
            body=event.get("body"),
            is_base64_encoded=bool(event.get("isBase64Encoded")),
        )

    @property
    def text(self) -> str:
        """The body as text (Function URLs base64-encode what is not text)."""
        if not self.body or not self.is_base64_encoded:
            return self.body or ""
        try:
            return base64.b64decode(self.body, validate=True).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            return ""


Route = Callable[[Request], dict[str, Any]]


def response(
    status: int, content_type: str, body: str, headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": content_type, **(headers or {})},
        "body": body,
        "isBase64Encoded": False,
    }


def dispatch(
    event: Mapping[str, Any], routes: Mapping[str, Route], path: str | None = "/"
) -> dict[str, Any]:
    """The route for the request's method on `path` (None: any path); anything else is
    not found."""
    request = Request.of(event)
    route = routes.get(request.method) if path in (None, request.path) else None
    return route(request) if route else response(404, "application/json", NOT_FOUND)
