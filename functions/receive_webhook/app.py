"""ReceiveWebhook (Function URL): Meta's Page and Instagram webhooks onto MentionsQueue.

GET answers the subscription handshake; POST is a notification, refused (401) unless its
X-Hub-Signature-256 matches the raw body. The signature is the authorisation.
"""

from typing import Any

from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare import wiring
from socialcare.observability import logger, metrics
from socialcare.sources import webhooks

runtime = wiring.webhook_runtime()
app = LambdaFunctionUrlResolver()


def _response(reply: webhooks.Reply) -> Response:
    return Response(reply.status, reply.content_type, reply.body)


@app.get("/")
def verify() -> Response:
    query = app.current_event.query_string_parameters or {}
    return _response(webhooks.subscribe(query, runtime))


@app.post("/")
def notify() -> Response:
    event = app.current_event
    raw = webhooks.raw_body(event.body, event.is_base64_encoded)
    return _response(webhooks.receive(raw, event.headers, runtime))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
