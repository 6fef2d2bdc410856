"""Unsubscribe (Function URL): GET shows a confirmation page, POST records the opt-out.

The link carries a signed token (customer hash + expiry). GET never changes anything, so
mail scanners that follow links cannot opt people out; POST is RFC 8058 one-click.
"""

from typing import Any

from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare import wiring
from socialcare.observability import logger, metrics
from socialcare.outreach import optout
from socialcare.outreach.unsubscribe import TokenError, token_of

HTML = "text/html; charset=utf-8"
runtime = wiring.optout_runtime()
app = LambdaFunctionUrlResolver()


def _token() -> str:
    event = app.current_event
    query = event.get_query_string_value("token", "")
    return token_of(query, event.body, event.is_base64_encoded)


def _refused(error: TokenError) -> Response:
    logger.warning("unsubscribe refused", extra={"error": str(error), "status": error.status})
    title, text = (
        "Linket virker ikke",
        "Linket er ugyldigt eller udløbet. / The link is invalid or expired.",
    )
    return Response(error.status, HTML, optout.page(runtime.brand, title, text))


# Any path: on the company's own domain a proxy forwards e.g. /afmeld unchanged
# (docs/deploy.md, Unsubscribe link); the token is what counts.
ANY_PATH = ".+"


@app.get(ANY_PATH)
def confirm() -> Response:
    token = _token()
    try:
        optout.check(runtime.unsubscribe_keys(), token)
    except TokenError as error:
        return _refused(error)
    text = "Vil du ikke have flere e-mails om dine opslag? / Stop e-mails about your posts?"
    return Response(200, HTML, optout.page(runtime.brand, "Afmeld", text, form_token=token))


@app.post(ANY_PATH)
def one_click() -> Response:
    try:
        optout.unsubscribe(runtime.state, runtime.unsubscribe_keys(), _token())
    except TokenError as error:
        return _refused(error)
    text = "Du får ikke flere af disse e-mails. / You will not get these e-mails again."
    return Response(200, HTML, optout.page(runtime.brand, "Afmeldt", text))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
