"""Function URL requests (payload 2.0): GET and POST on `/`, by hand.

Two routes do not need Powertools' event handler: its router costs a cold start about a
quarter of `import boto3` and ships ~2 MB of the layer. The event itself is read through
Powertools' data class; answers are shaped as its resolver shaped them (404 elsewhere).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools.utilities.data_classes import LambdaFunctionUrlEvent

Route = Callable[[LambdaFunctionUrlEvent], dict[str, Any]]
NOT_FOUND = '{"statusCode":404,"message":"Not found"}'


def response(status: int, content_type: str, body: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": content_type},
        "body": body,
        "isBase64Encoded": False,
    }


def dispatch(event: LambdaFunctionUrlEvent, routes: Mapping[str, Route]) -> dict[str, Any]:
    """The route for the request's method on `/`; any other path or method is not found."""
    route = routes.get(event.http_method) if event.path == "/" else None
    return route(event) if route else response(404, "application/json", NOT_FOUND)
