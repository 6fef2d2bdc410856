"""ReceiveWebhook (Function URL): platform pushes onto MentionsQueue. `/` is Meta's (GET the
handshake; POST refused with 401 unless X-Hub-Signature-256 matches the raw body);
`/trustpilot/<secret>`, `/threads` and `/google` are sources/push.py's routes."""

from typing import Any

from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare import wiring
from socialcare.observability import logger, metrics
from socialcare.sources import push, webhooks

runtime, pushes = wiring.webhook_runtime(), wiring.push_runtime()
app = LambdaFunctionUrlResolver()


def _answer(reply: webhooks.Reply) -> Response:
    return Response(reply.status, reply.content_type, reply.body)


@app.route("/", method=["GET", "POST"])
def meta() -> Response:
    event = app.current_event
    if event.http_method == "GET":
        return _answer(webhooks.subscribe(event.query_string_parameters or {}, runtime))
    raw = webhooks.raw_body(event.body, event.is_base64_encoded)
    return _answer(webhooks.receive(raw, event.headers, runtime))


@app.route("/<source>", method=["GET", "POST"])
@app.post("/<source>/<token>")
def pushed(source: str, token: str = "") -> Response:
    return _answer(push.handle_url_event(source, token, app.current_event, pushes))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
