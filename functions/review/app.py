"""Review (Function URL): an agent's Approve or Reject (`/approve`, `/reject`, the held
request sealed in the token). GET only shows the page (scanners); its POST decides."""

from typing import Any

from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare import wiring
from socialcare.observability import logger, metrics
from socialcare.outreach import review
from socialcare.outreach.unsubscribe import token_of

runtime = wiring.review_runtime()
app = LambdaFunctionUrlResolver()


def _page(answer: review.Answer) -> Response:
    return Response(answer.status, "text/html; charset=utf-8", answer.html, review.HEADERS)


def _token() -> str:
    event = app.current_event
    return token_of(event.get_query_string_value("token", ""), event.body, event.is_base64_encoded)


@app.get("/<action>")
def confirm(action: str) -> Response:
    return _page(review.confirm(runtime, action, _token()))


@app.post("/<action>")
def decide(action: str) -> Response:
    return _page(review.decide(runtime, action, _token()))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
