"""Review (Function URL): an agent's Approve or Reject (`/approve`, `/reject`, the held
request sealed in the token). GET only shows the page (scanners); its POST decides."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare import wiring
from socialcare.function_url import Request, dispatch, response
from socialcare.observability import logger, metrics
from socialcare.outreach import review
from socialcare.outreach.unsubscribe import token_of

runtime = wiring.review_runtime()


def _page(answer: review.Answer) -> dict[str, Any]:
    return response(answer.status, "text/html; charset=utf-8", answer.html, review.HEADERS)


def _args(request: Request) -> tuple[str, str]:
    """The action (the path: /approve or /reject; review refuses others) and the token."""
    token = token_of(request.query.get("token"), request.body, request.is_base64_encoded)
    return request.path.strip("/"), token


def confirm(request: Request) -> dict[str, Any]:
    return _page(review.confirm(runtime, *_args(request)))


def decide(request: Request) -> dict[str, Any]:
    return _page(review.decide(runtime, *_args(request)))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dispatch(event, {"GET": confirm, "POST": decide}, path=None)
