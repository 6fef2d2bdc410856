"""MarkWrong (Function URL): an agent marks a digest decision wrong. GET shows the
confirmation page and changes nothing (mail scanners follow links); its button POSTs,
which records the mark once, audited without content."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare import wiring
from socialcare.function_url import Request, dispatch, response
from socialcare.observability import logger, metrics
from socialcare.operations import feedback
from socialcare.outreach.unsubscribe import token_of

HTML = "text/html; charset=utf-8"
runtime = wiring.feedback_runtime()


def _token(request: Request) -> str:
    return token_of(request.query.get("token"), request.body, request.is_base64_encoded)


def confirm(request: Request) -> dict[str, Any]:
    status, html = feedback.confirm_page(runtime.link_secrets(), runtime.brand, _token(request))
    return response(status, HTML, html)


def record(request: Request) -> dict[str, Any]:
    status, html = feedback.record_page(
        runtime.state, runtime.link_secrets(), runtime.brand, _token(request)
    )
    return response(status, HTML, html)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dispatch(event, {"GET": confirm, "POST": record})
