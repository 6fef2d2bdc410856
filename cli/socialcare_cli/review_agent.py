"""An agent at the review mailbox, locally: read a review e-mail's Approve or Reject link,
open it (GET: the confirmation page), press its button (POST the page's form back to the
page's URL, as a browser does). Used by `socialcare demo --mode review --approve` and the
tests, over real HTTP against the Review function's local Function URL stand-in.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_string, policy
from html import unescape
from typing import Any

import requests

from socialcare_cli import lambda_local, servers
from socialcare_cli.template import Stack

FUNCTION = "ReviewFunction"
_LINK = re.compile(r"https?://\S+/(approve|reject)\?token=[A-Za-z0-9_-]+")
_FORM = re.compile(r'<form method="post">(.*?)</form>', re.S)
_FIELD = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


@dataclass(frozen=True)
class Click:
    link: str
    page: int  # the GET's status
    done: int  # the POST's status (0: the page had no button)
    text: str  # the page it ended on


def review_copies(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The review e-mails among moto's sent messages: {"approve": url, "reject": url}."""
    out = []
    for raw in messages:
        message = message_from_string(raw.get("raw_data", ""), policy=policy.default)
        if message.get("X-Socialcare-Review") != "1":
            continue
        part = message.get_body(preferencelist=("plain",))
        text = str(part.get_content()) if part is not None else ""
        links = {m.group(1): m.group(0) for m in _LINK.finditer(text)}
        if links:
            out.append(links)
    return out


def click(link: str, timeout_s: float = 10) -> Click:
    """GET the link's page, then submit its form (if it has one) as the browser would."""
    page = requests.get(link, timeout=timeout_s)
    form = _FORM.search(page.text)
    if not form:
        return Click(link, page.status_code, 0, page.text)
    fields = {name: unescape(value) for name, value in _FIELD.findall(form.group(1))}
    done = requests.post(link, data=fields, timeout=timeout_s)
    return Click(link, page.status_code, done.status_code, done.text)


class _Late:
    """A route whose handler is bound after the stack is provisioned and loaded."""

    def __init__(self) -> None:
        self.target: Callable[..., Any] | None = None

    def __call__(self, *args: Any) -> Any:
        assert self.target is not None, "the Review function is not loaded yet"
        return self.target(*args)


@contextmanager
def function_url(stack: Stack) -> Iterator[Callable[[lambda_local.Handler], None]]:
    """Serve the Review function's URL on 127.0.0.1 before the stack is provisioned (so the
    mailer's REVIEW_URL points here); call the yielded `bind(handler)` once it is loaded."""
    route = _Late()
    with servers.serve(route) as base:
        stack.attributes[(f"{FUNCTION}Url", "FunctionUrl")] = f"{base}/"

        def bind(handler: lambda_local.Handler) -> None:
            route.target = lambda_local.function_url_route(handler, FUNCTION)

        yield bind


def approve(messages: list[dict[str, Any]], how_many: str) -> list[Click]:
    """Follow the Approve link of the first `how_many` review e-mails ("all" or a number)."""
    copies = review_copies(messages)
    count = len(copies) if how_many == "all" else int(how_many)
    return [click(links["approve"]) for links in copies[:count]]
