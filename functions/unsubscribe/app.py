"""Unsubscribe (Function URL): GET shows a confirmation page, POST records the opt-out.

The link carries a signed token (customer hash + expiry). GET never changes anything, so
mail scanners that follow links cannot opt people out; POST is RFC 8058 one-click.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare import wiring
from socialcare.function_url import Request, dispatch, response
from socialcare.observability import logger, metrics
from socialcare.outreach import optout
from socialcare.outreach.unsubscribe import TokenError, token_of

HTML = "text/html; charset=utf-8"
runtime = wiring.optout_runtime()


def _token(request: Request) -> str:
    return token_of(request.query.get("token"), request.body, request.is_base64_encoded)


def _page(status: int, title: str, text: str, form_token: str | None = None) -> dict[str, Any]:
    return response(status, HTML, optout.page(runtime.brand, title, text, form_token=form_token))


def _refused(error: TokenError) -> dict[str, Any]:
    logger.warning("unsubscribe refused", extra={"error": str(error), "status": error.status})
    text = "Linket er ugyldigt eller udløbet. / The link is invalid or expired."
    return _page(error.status, "Linket virker ikke", text)


def confirm(request: Request) -> dict[str, Any]:
    token = _token(request)
    try:
        optout.check(runtime.unsubscribe_keys(), token)
    except TokenError as error:
        return _refused(error)
    text = "Vil du ikke have flere e-mails om dine opslag? / Stop e-mails about your posts?"
    return _page(200, "Afmeld", text, form_token=token)


def one_click(request: Request) -> dict[str, Any]:
    try:
        optout.unsubscribe(runtime.state, runtime.unsubscribe_keys(), _token(request))
    except TokenError as error:
        return _refused(error)
    text = "Du får ikke flere af disse e-mails. / You will not get these e-mails again."
    return _page(200, "Afmeldt", text)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Any path: on the company's own domain a proxy forwards e.g. /afmeld unchanged
    # (docs/deploy.md, Unsubscribe link); the token is what counts.
    return dispatch(event, {"GET": confirm, "POST": one_click}, path=None)
