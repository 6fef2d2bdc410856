"""ReceiveWebhook (Function URL): Meta's Page and Instagram webhooks onto MentionsQueue.

GET answers the subscription handshake; POST is a notification, refused (401) unless its
X-Hub-Signature-256 matches the raw body. The signature is the authorisation.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare import wiring
from socialcare.function_url import Request, dispatch, response
from socialcare.observability import logger, metrics
from socialcare.sources import webhooks

runtime = wiring.webhook_runtime()


def _response(reply: webhooks.Reply) -> dict[str, Any]:
    return response(reply.status, reply.content_type, reply.body)


def verify(request: Request) -> dict[str, Any]:
    return _response(webhooks.subscribe(request.query, runtime))


def notify(request: Request) -> dict[str, Any]:
    raw = webhooks.raw_body(request.body, request.is_base64_encoded)
    return _response(webhooks.receive(raw, request.headers, runtime))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dispatch(event, {"GET": verify, "POST": notify})
