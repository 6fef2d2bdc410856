"""ReceiveWebhook (Function URL): platform pushes onto MentionsQueue. `/` is Meta's (GET the
handshake; POST refused with 401 unless X-Hub-Signature-256 matches the raw body);
`/trustpilot/<secret>`, `/threads` and `/google` are sources/push.py's routes."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare import wiring
from socialcare.function_url import Request, dispatch, response
from socialcare.observability import logger, metrics
from socialcare.sources import push, webhooks

runtime, pushes = wiring.webhook_runtime(), wiring.push_runtime()


def _response(reply: webhooks.Reply) -> dict[str, Any]:
    return response(reply.status, reply.content_type, reply.body)


def route(request: Request) -> dict[str, Any]:
    if request.path not in ("", "/"):
        return _response(push.handle_url_request(request, pushes))
    if request.method == "GET":
        return _response(webhooks.subscribe(request.query, runtime))
    raw = webhooks.raw_body(request.body, request.is_base64_encoded)
    return _response(webhooks.receive(raw, request.headers, runtime))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dispatch(event, {"GET": route, "POST": route}, path=None)
