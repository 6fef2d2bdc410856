"""MarkWrong (Function URL): an agent marks a digest decision wrong. GET shows the
confirmation page and changes nothing (mail scanners follow links); its button POSTs,
which records the mark once, audited without content."""

from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare import wiring
from socialcare.observability import logger, metrics
from socialcare.operations import feedback

HTML = "text/html; charset=utf-8"
runtime = wiring.feedback_runtime()
app = LambdaFunctionUrlResolver()


def _token() -> str:
    event = app.current_event
    form = parse_qs(event.decoded_body or "") if event.body else {}
    return event.get_query_string_value("token", "") or form.get("token", [""])[0]


@app.get("/")
def confirm() -> Response:
    status, html = feedback.confirm_page(runtime.link_secrets(), runtime.brand, _token())
    return Response(status, HTML, html)


@app.post("/")
def record() -> Response:
    status, html = feedback.record_page(
        runtime.state, runtime.link_secrets(), runtime.brand, _token()
    )
    return Response(status, HTML, html)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
