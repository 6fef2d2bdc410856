"""The e-mail as SES v2 (moto's server) accepted it: headers, both parts, language,
escaping, the one-click opt-out link. Read back from the emulator, not from our code."""

from __future__ import annotations

import re
from email import message_from_string, policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
import pytest

from socialcare.adapters.memory import MemoryCrm, MemorySealer, MemoryState
from socialcare.brand import load_brand
from socialcare.errors import MailRejected
from socialcare.hashing import Hasher
from socialcare.outreach.approval import ReviewLinks
from socialcare.outreach.mailer import MailerDeps, send_outreach
from socialcare.outreach.ses import SesMailer
from socialcare.outreach.unsubscribe import verify_token
from socialcare_cli.local_aws import sent_emails
from tests.unit.conftest import make_request

SENDER = "kundeservice@lynet.example"


@pytest.fixture
def deps(aws: str) -> MailerDeps:
    ses = boto3.client("sesv2")
    ses.create_email_identity(EmailIdentity=SENDER)
    return MailerDeps(
        brand=load_brand(),
        mailer=SesMailer(ses, "socialcare-events"),
        crm=MemoryCrm(),
        state=MemoryState(),
        hasher=Hasher("integration-hash-key"),
        sender=SENDER,
        reply_to="svar@lynet.example",
        unsubscribe_base="https://unsub.lynet.example/",
        unsubscribe_secret="integration-unsubscribe",
        review_address="agents@lynet.example",
        review=ReviewLinks("https://review.lynet.example/", MemorySealer()),
    )


def sent(endpoint: str) -> list[EmailMessage]:
    return [
        message_from_string(m["raw_data"], policy=policy.default)  # type: ignore[misc]
        for m in sent_emails(endpoint)
    ]


def body(message: EmailMessage, kind: str) -> str:
    part = message.get_body(preferencelist=(kind,))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")  # SMTP line ends


def test_headers_parts_and_one_click_opt_out(deps: MailerDeps, aws: str) -> None:
    send_outreach(make_request(), deps, "live")
    (message,) = sent(aws)
    assert message["From"] == SENDER and message["To"] == "mette@example.net"
    assert message["Reply-To"] == "svar@lynet.example"
    assert message["Subject"] == "Kan vi hjælpe? – Lynet Bredbånd"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = message["List-Unsubscribe"].strip("<>")
    assert link.startswith("https://unsub.lynet.example/?token=")
    token = parse_qs(urlparse(link).query)["token"][0]
    assert verify_token("integration-unsubscribe", token) == "h1"
    text, html = body(message, "plain"), body(message, "html")
    assert text.startswith("Hej Mette,") and link in text
    assert f'href="{link}"' in html and "https://x.com/mettejensen/status/1" in html
    assert "nede" in text  # the outage wording, from the topic (never the post's words)


@pytest.mark.parametrize(("language", "greeting"), [("da", "Hej"), ("en", "Hi"), ("de", "Hej")])
def test_language_choice(deps: MailerDeps, aws: str, language: str, greeting: str) -> None:
    send_outreach(make_request(language=language), deps, "live")
    (message,) = sent(aws)
    assert body(message, "plain").startswith(f"{greeting} Mette,")


def test_hostile_names_are_escaped_and_cannot_inject_headers(deps: MailerDeps, aws: str) -> None:
    name = "<script>x</script>\r\nBcc: victim@example.net"
    send_outreach(make_request(first_name=name), deps, "live")
    (message,) = sent(aws)
    assert message["Bcc"] is None
    html = body(message, "html")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert sent_emails(aws)[0]["destinations"] == ["mette@example.net"] * 2 or set(
        sent_emails(aws)[0]["destinations"]
    ) == {"mette@example.net"}


def test_empty_name_and_right_to_left_text_render_safely(deps: MailerDeps, aws: str) -> None:
    send_outreach(make_request(first_name="", mention_id="a", customer_hash="a"), deps, "live")
    send_outreach(
        make_request(first_name="\u202eنور", mention_id="b", customer_hash="b"), deps, "live"
    )
    empty, rtl = sent(aws)
    assert body(empty, "plain").startswith("Hej,\n") and "None" not in body(empty, "html")
    assert body(rtl, "plain").startswith("Hej نور,")


def test_review_mode_goes_to_the_agents(deps: MailerDeps, aws: str) -> None:
    send_outreach(make_request(), deps, "review")
    (message,) = sent(aws)
    assert message["To"] == "agents@lynet.example"
    assert body(message, "plain").startswith("REVIEW: would go to mette@example.net")
    # No one-click unsubscribe in the agent's mail client: it would opt the customer out.
    assert message["List-Unsubscribe"] is None and message["List-Unsubscribe-Post"] is None
    html = body(message, "html")
    assert html.lstrip().lower().startswith("<!doctype html")  # still a well-formed page
    assert html.index("<body") < html.index("REVIEW: would go to") < html.index("</body>")


def test_unverified_sender_is_a_typed_permanent_error(aws: str) -> None:
    mailer = SesMailer(boto3.client("sesv2"))
    from socialcare.outreach.ports import Email

    with pytest.raises(MailRejected):
        mailer.send(
            Email(
                to="a@example.net",
                sender="nobody@unverified.example",
                reply_to="r@example.net",
                subject="s",
                text="t",
                html="<p>t</p>",
            )
        )


def test_preview_command_prints_headers_and_decoded_parts(capsys: Any) -> None:
    from socialcare_cli.main import main

    assert (
        main(["preview", "--lang", "da", "--name", "Søren", "--topic", "outage", "--source", "x"])
        == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("From: kundeservice@lynet.example\n")
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in out
    assert "----- text/plain -----\nHej Søren," in out and "----- text/html -----" in out
    assert "=C3" not in out and "None" not in out  # decoded, and no missing values
    assert main(["preview", "--lang", "en", "--topic", "billing", "--source", "bluesky"]) == 0
    out = capsys.readouterr().out
    assert "Hi,\n" in out and "Bluesky" in out and "None" not in out


def test_preview_of_the_review_copy_shows_its_links(capsys: Any) -> None:
    from socialcare_cli.main import main

    assert main(["preview", "--mode", "review", "--lang", "da"]) == 0
    out = capsys.readouterr().out
    assert "To: agents@" in out and "List-Unsubscribe" not in out
    assert re.search(r"Approve and send to the customer: https://review\.\S+/approve\?token=", out)
    assert re.search(r"Afvis / Reject: https://review\.\S+/reject\?token=", out)


def test_the_review_copy_as_ses_accepted_it(deps: MailerDeps, aws: str) -> None:
    send_outreach(make_request(), deps, "review")
    (message,) = sent(aws)
    text, html = body(message, "plain"), body(message, "html")
    assert re.search(r"/approve\?token=[A-Za-z0-9_-]+", text)
    assert re.search(r'<a href="https://review\.lynet\.example/approve\?token=', html)
    assert "unsub.lynet.example" not in text + html  # the customer's own link is not here
    assert "https://afmeld.invalid/kundens-link" in text
