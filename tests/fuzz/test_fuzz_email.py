"""E-mail rendering and MIME with hostile CRM names and addresses (CR/LF, HTML, RTL marks,
lone surrogates, 10 KB) and hostile post links: an address that is not one plain address
never reaches the mailer (the customer has none); everything else is written, or refused
as MailRejected, fast; what is written has exactly the headers we set, the recipient we
meant, and no markup from a name."""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser

from hypothesis import given, settings
from hypothesis import strategies as st

from socialcare.adapters.memory import MemoryCrm, MemoryMailer, MemoryState
from socialcare.brand import load_brand
from socialcare.errors import MailRejected
from socialcare.hashing import Hasher
from socialcare.models import Customer, OutreachRequest
from socialcare.outreach.approval import Links
from socialcare.outreach.mailer import MailerDeps, build_email
from socialcare.outreach.ses import mime_bytes
from tests.fuzz.hostile import TEXT
from tests.fuzz.report import cases, run

TIMEOUT_S = 30  # SendOutreachFunction
NOW = datetime(2026, 11, 27, tzinfo=UTC)
HEADERS = {
    "from",
    "to",
    "reply-to",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "x-socialcare-review",
}
DEPS = MailerDeps(
    brand=load_brand(),
    mailer=MemoryMailer(),
    crm=MemoryCrm(),
    state=MemoryState(),
    hasher=Hasher("fuzz-hash-key-0123456789"),
    sender="kundeservice@lynet.example",
    reply_to="svar@lynet.example",
    unsubscribe_base="https://lynet.example/unsubscribe",
    unsubscribe_secret="fuzz-unsubscribe",
    review_address="agents@lynet.example",
)
NAMES = TEXT | st.builds(lambda a, b: f"{a} {b}", TEXT, TEXT) | st.just("Dr. Søren Ærø-Hansen")
ADDRESSES = st.emails() | TEXT | st.builds(lambda a, b: f"{a}@{b}", TEXT, TEXT)


def write(name: str, address: str, post_url: str, language: str, mode: str) -> bytes | None:
    customer = Customer(id="C-1", name=name, email=address)
    if customer.email is None:
        return None  # `no_email`: nothing is claimed or sent
    request = OutreachRequest(
        mention_id="m" * 32,
        fetch_id="f",
        customer_ref=customer.id,
        customer_hash="h" * 32,
        email=customer.email,
        first_name=customer.first_name,
        language=language,
        topics=["outage"],
        source="x",
        post_url=post_url,
        post_created_at=NOW,
    )
    # A review copy carries the agents' Approve and Reject links (sealed by the mailer).
    links = Links("https://review.lynet.example/a", "https://review.lynet.example/r", NOW)
    return mime_bytes(build_email(request, DEPS, mode, links if mode == "review" else None))


@settings(max_examples=cases(1))
@given(
    name=NAMES,
    address=ADDRESSES,
    post_url=TEXT | st.builds(lambda t: f"https://x.com/{t}", TEXT),
    language=st.sampled_from(["da", "en", "de", ""]),
    mode=st.sampled_from(["live", "review"]),
)
def test_hostile_names_and_addresses_never_break_the_message(
    name: str, address: str, post_url: str, language: str, mode: str
) -> None:
    out = run(
        "e-mail render+MIME",
        TIMEOUT_S,
        lambda: write(name, address, post_url, language, mode),
        (MailRejected,),
    )
    if not isinstance(out, bytes):
        return
    message = BytesParser(policy=policy.default).parsebytes(out)
    assert {k.lower() for k in message} <= HEADERS  # nothing injected
    assert len(message.get_all("To") or []) == 1
    expected = DEPS.review_address if mode == "review" else Customer(id="C", email=address).email
    assert str(message["To"]) == expected
    for key, value in message.items():
        assert "\r" not in str(value) and "\n" not in str(value), key
    html = message.get_body(preferencelist=("html",))
    assert html is not None and "<script" not in html.get_content().lower()
