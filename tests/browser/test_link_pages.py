"""The pages behind the links in our e-mails, clicked through in a real browser as their
reader would: open the e-mail, follow the link, read the confirmation page (GET changes
nothing), press its button (the POST records), press it again (harmless), and try a
forged link (an error page, nothing recorded). A screenshot of each step.

Each page is one `LinkPage`; the Approve and Reject pages of review mode join the same
way once they exist.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import boto3
import pytest

from socialcare_cli import lambda_local, servers
from socialcare_cli.template import Stack
from tests.browser.conftest import as_page
from tests.browser.webdriver import Browser
from tests.integration.test_digest import digest_parts, mail, run_pipeline, send_digest
from tests.integration.test_pipeline_handlers import drain


@dataclass
class LinkPage:
    name: str  # of the screenshots
    email_html: str  # the e-mail that carries the link, as its reader gets it
    link_text: str  # the link to press in it
    function: str  # the logical id of the function behind the link
    recorded: Callable[[], list[str]]  # what the POST writes (state keys)
    button: str  # on the confirmation page
    done: str  # said after the first POST
    again: str  # said after a second POST


@pytest.fixture
def serve_function(handler: Any) -> Iterator[Callable[[str], str]]:
    """function logical id -> the base URL of its Function URL's local stand-in (real
    HTTP; the handler imported as Lambda imports it)."""
    with ExitStack() as running:

        def serve(function: str) -> str:
            route = lambda_local.function_url_route(handler(function), function)
            return str(running.enter_context(servers.serve(route)))

        yield serve


def state_keys(stack: Stack, prefix: str) -> Callable[[], list[str]]:
    def keys() -> list[str]:
        items = boto3.client("dynamodb").scan(TableName=stack.physical["StateTable"])["Items"]
        return sorted(i["pk"]["S"] for i in items if i["pk"]["S"].startswith(prefix))

    return keys


def status(browser: Browser) -> int:
    """The HTTP status of the page the browser shows."""
    return int(
        browser.script("return performance.getEntriesByType('navigation')[0].responseStatus")
    )


def click_through(
    browser: Browser, page: LinkPage, stack: Stack, local: str, shots: Path, tmp: Path
) -> None:
    function_url = stack.attributes[(f"{page.function}Url", "FunctionUrl")]
    browser.open(as_page(page.email_html, function_url, local, tmp / f"{page.name}.html"))
    next(a for a in browser.find_all("a") if a.text == page.link_text).click()
    assert browser.url.startswith(local + "/?token=")
    confirm_url = browser.url
    assert status(browser) == 200
    (button,) = browser.find_all("form[method=post] button")
    assert button.text == page.button
    browser.screenshot(shots / f"{page.name}-confirm.png")
    assert page.recorded() == []  # GET: a mail scanner following the link changes nothing

    button.click()
    browser.wait_for_text("body", page.done)
    recorded = page.recorded()
    assert len(recorded) == 1
    browser.screenshot(shots / f"{page.name}-done.png")

    browser.open(confirm_url)
    browser.find("form[method=post] button").click()  # the second POST
    browser.wait_for_text("body", page.again)
    assert page.recorded() == recorded

    forged = confirm_url.replace("token=", "token=0", 1)
    browser.open(forged)
    assert status(browser) == 403 and "Linket virker ikke" in browser.find("h1").text
    assert browser.find_all("form") == []
    assert page.recorded() == recorded
    browser.screenshot(shots / f"{page.name}-forged.png")


def test_unsubscribe_from_a_customer_s_e_mail(
    browser: Browser,
    stack: Stack,
    handler: Any,
    aws: str,
    serve_function: Callable[[str], str],
    shots: Path,
    tmp_path: Path,
) -> None:
    run_pipeline(stack, handler)  # live: the customers' e-mails
    drain(stack, "SendOutreachFunction", handler("SendOutreachFunction"))
    message: EmailMessage = mail(aws)[0]
    html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    page = LinkPage(
        name="unsubscribe",
        email_html=html,
        link_text="Afmeld med ét klik" if "Afmeld" in html else "Unsubscribe with one click",
        function="UnsubscribeFunction",
        recorded=state_keys(stack, "optout#"),
        button="Afmeld / Unsubscribe",
        done="Du får ikke flere",
        again="Du får ikke flere",
    )
    click_through(browser, page, stack, serve_function(page.function), shots, tmp_path)


def test_mark_a_digest_decision_wrong(
    browser: Browser,
    stack: Stack,
    handler: Any,
    aws: str,
    serve_function: Callable[[str], str],
    shots: Path,
    tmp_path: Path,
) -> None:
    stack.overrides.update({"ShadowDigest": "daily", "OutreachMode": "shadow"})
    run_pipeline(stack, handler)
    send_digest(stack, handler)
    (message,) = mail(aws)
    _, html, _ = digest_parts(message)
    local = serve_function("MarkWrongFunction")
    function_url = stack.attributes[("MarkWrongFunctionUrl", "FunctionUrl")]
    browser.open(as_page(html, function_url, local, tmp_path / "digest.html"))
    browser.screenshot(shots / "digest.png")
    page = LinkPage(
        name="mark-wrong",
        email_html=html,
        link_text="Mark wrong",
        function="MarkWrongFunction",
        recorded=state_keys(stack, "wrong#"),
        button="Forkert / Wrong",
        done="Thanks, noted",
        again="Already noted",
    )
    click_through(browser, page, stack, local, shots, tmp_path)
