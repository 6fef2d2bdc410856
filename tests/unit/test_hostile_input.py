"""Regression tests for what fuzzing found (issue 22), one defect at a time: hostile numbers,
non-ASCII and lone surrogates at the edges, unusable CRM addresses, deep JSON. Each fails
on the code before the fix; the property tests in tests/fuzz look for more of the kind."""

from __future__ import annotations

import json
import time
from copy import deepcopy
from typing import Any

import pytest

from socialcare import safejson
from socialcare.adapters.memory import MemoryCrm, MemoryQueue
from socialcare.errors import MailRejected, SourcePayloadError
from socialcare.models import Customer, OutreachRequest, Reason
from socialcare.outreach.mailer import MailerDeps, build_email
from socialcare.outreach.ports import Email
from socialcare.outreach.ses import mime_bytes
from socialcare.outreach.unsubscribe import TokenError, make_token, token_of, verify_token
from socialcare.pipeline import TriageDeps, triage
from socialcare.sources import parse_page
from socialcare.sources.base import parse_time
from socialcare.sources.graph import check_graph, describe, entry_time
from socialcare.sources.webhooks import WebhookDeps, raw_body, receive, signature_ok
from socialcare.sources.x import tweet_time
from socialcare_cli.fake_graph import sign
from tests.conftest import TESTS
from tests.unit.conftest import make_mention, make_request

DATA = TESTS / "data" / "platforms"


def page(path: str) -> Any:
    return json.loads((DATA / path).read_text())


# ------------------------------------------------------------------ hostile numbers
@pytest.mark.parametrize("value", [-1e20, 1e308, float("inf"), float("nan"), 10**40, -(10**30)])
def test_a_number_no_clock_holds_is_an_unreadable_time(value: float) -> None:
    with pytest.raises(ValueError, match="out of range"):  # was OverflowError
        parse_time(value)


def test_a_far_time_with_no_utc_equivalent_is_unreadable() -> None:
    with pytest.raises(ValueError):
        parse_time("0001-01-01T00:00:00+14:00")  # its UTC time is before year 1


REDDIT = ("reddit", "reddit/search-page1.json", ("data", "children"), ("data", "created_utc"))


@pytest.mark.parametrize(
    ("source", "path", "items", "field", "value"),
    [
        (*REDDIT, 1e308),
        (*REDDIT, -1e20),
        ("x", "x/search-recent-page1.json", ("data",), ("created_at",), -1e20),
    ],
)
def test_one_hostile_number_loses_one_item_not_its_page(
    source: str, path: str, items: tuple[str, ...], field: tuple[str, ...], value: float
) -> None:
    body = page(path)
    good, _ = parse_page(source, deepcopy(body))
    listed = body
    for part in items:
        listed = listed[part]
    target = listed[0]
    for part in field[:-1]:
        target = target[part]
    target[field[-1]] = value
    mentions, invalid = parse_page(source, body)
    assert invalid == 1 and len(mentions) == len(good) - 1


def test_a_40_digit_tweet_id_is_one_unreadable_item() -> None:
    body = page("x/search-recent-page1.json")
    body["data"][0].pop("created_at")
    body["data"][0]["id"] = "9" * 40  # the time comes from the id: no clock holds it
    with pytest.raises(ValueError):
        tweet_time("9" * 40)
    mentions, invalid = parse_page("x", body)
    assert invalid == 1 and len(mentions) == len(page("x/search-recent-page1.json")["data"]) - 1


def test_a_graph_error_code_of_1e400_is_still_a_typed_graph_error() -> None:
    error = json.loads('{"error": {"code": 1e400, "error_subcode": -1e400, "type": "X"}}')
    assert describe(error["error"]) == "Graph error None (X)"

    class Answer:
        status_code, headers, content = 400, {}, b""

        def json(self) -> Any:
            return error

    with pytest.raises(SourcePayloadError):
        check_graph("facebook", Answer())  # type: ignore[arg-type]


def test_an_entry_time_of_1e308_is_no_time_not_a_crash() -> None:
    assert entry_time({"time": 1e308}) is None
    assert entry_time({"time": 1_700_000_000_000}) is not None  # milliseconds still read


class Api:
    def get(self, path: str, params: Any = None) -> Any:
        raise AssertionError("a feed change carries its text")


def meta_deps(queue: MemoryQueue) -> WebhookDeps:
    return WebhookDeps(
        queue=queue,
        secret=lambda: {"app_secret": "app-secret", "verify_token": "vt"},
        graph=lambda source: Api(),  # type: ignore[arg-type,return-value]
        sources=frozenset({"facebook"}),
    )


def test_a_signed_notification_with_time_1e308_is_read() -> None:
    body = page("facebook/webhook-feed-status.json")
    body["entry"][0]["time"] = 1e308
    data = json.dumps(body).encode()
    queue = MemoryQueue()
    reply = receive(data, {"x-hub-signature-256": sign("app-secret", data)}, meta_deps(queue))
    assert reply.status == 200 and len(queue.messages) == 1  # was an OverflowError


# ------------------------------------------------------------------ deep JSON
def test_json_nested_too_deeply_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="nested too deeply"):  # was RecursionError
        safejson.loads("[" * 100_000 + "]" * 100_000)


def test_a_signed_notification_nested_too_deeply_is_a_400() -> None:
    data = b'{"object": "page", "entry": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    queue = MemoryQueue()
    reply = receive(data, {"x-hub-signature-256": sign("app-secret", data)}, meta_deps(queue))
    assert reply.status == 400 and queue.messages == []


# ------------------------------------------------------------------ non-ASCII, surrogates
@pytest.mark.parametrize("token", ["é.1.é", "\ud83d.1.abc", "a.1.\ud800", "ø" * 300, "a.1e9.b"])
def test_a_non_ascii_token_is_malformed_not_a_type_error(token: str) -> None:
    with pytest.raises(TokenError) as refused:  # was TypeError / UnicodeEncodeError
        verify_token("secret", token)
    assert refused.value.status == 400


def test_a_valid_token_still_verifies_and_an_altered_one_does_not() -> None:
    token = make_token("secret", "8e4a6f318612ea65008e13abe3955cf6")
    assert verify_token("secret", token) == "8e4a6f318612ea65008e13abe3955cf6"
    with pytest.raises(TokenError) as refused:
        verify_token("secret", token[:-1] + ("a" if token[-1] != "a" else "b"))
    assert refused.value.status == 403


def test_a_form_body_that_is_not_utf8_has_no_token() -> None:
    assert token_of(None, "/w==", base64_encoded=True) == ""  # b"\xff": was UnicodeDecodeError
    assert token_of(None, "not base64!", base64_encoded=True) == ""
    assert token_of(None, "token=a.1.b", base64_encoded=False) == "a.1.b"
    assert token_of("q", "token=a.1.b", base64_encoded=False) == "q"


def test_lone_surrogates_in_a_webhook_are_refused_not_raised() -> None:
    assert raw_body('{"a": "\ud83d"}', is_base64_encoded=False)  # was UnicodeEncodeError
    assert not signature_ok("app-secret", b"{}", "sha256=\ud800")
    assert not signature_ok("app-secret", b"{}", "sha256=ææ")
    queue = MemoryQueue()
    reply = receive(b"{}", {"x-hub-signature-256": "sha256=\udc80"}, meta_deps(queue))
    assert reply.status == 401


def test_json_lone_surrogates_become_replacement_characters() -> None:
    value = safejson.loads('{"text": "cut \\ud83d", "\\udc00": ["\\ud800", "ok \\ud83d\\ude00"]}')
    assert value == {"text": "cut \ufffd", "\ufffd": ["\ufffd", "ok 😀"]}
    assert safejson.loads(b'"\\uD83D"') == "\ufffd"


def test_a_name_with_a_lone_surrogate_renders_and_writes(mailer_deps: MailerDeps) -> None:
    email = build_email(make_request(first_name="Mette \ud83d"), mailer_deps, "live")
    assert b"Hej Mette," in mime_bytes(email)


def test_a_message_that_cannot_be_written_is_rejected_typed() -> None:
    base = {"sender": "a@lynet.example", "reply_to": "b@lynet.example", "subject": "s"}
    with pytest.raises(MailRejected):  # was UnicodeEncodeError
        mime_bytes(Email(to="c@example.net", text="cut \ud83d", html="<p/>", **base))
    with pytest.raises(MailRejected):  # was ValueError from the header writer
        mime_bytes(Email(to="c@example.net\r\nBcc: x@evil.example", text="t", html="", **base))


# ------------------------------------------------------------------ CRM addresses
@pytest.mark.parametrize(
    "address",
    [
        "mette@example.net\r\nBcc: all@evil.example",
        "undisclosed-recipients:;",
        "team: a@example.net, b@example.net;",
        "Mette <mette@example.net>",
        "a@example.net, b@example.net",
        "æ" * 4000 + "@example.net",
        "søren@example.net",  # SES takes no SMTPUTF8 local part
    ],
)
def test_an_unusable_crm_address_means_no_email_and_nobody_contacted(
    triage_deps: TriageDeps, address: str
) -> None:
    assert Customer(id="C-X", name="X", email=address).email is None
    triage_deps.crm = MemoryCrm(
        [Customer(id="C-X", name="Mette Jensen", email=address, handles=["x:mettejensen"])]
    )
    result = triage(make_mention(), triage_deps)
    assert result.decision.reason is Reason.NO_EMAIL and result.outreach is None


def test_an_idn_address_goes_out_in_punycode() -> None:
    assert Customer(id="C", email=" mette@blåbær.dk ").email == "mette@xn--blbr-roah.dk"


def test_an_outreach_request_with_an_unusable_address_is_refused_at_the_edge() -> None:
    with pytest.raises(ValueError, match="one plain e-mail address"):
        make_request(email="a@example.net\nBcc: b@example.net")


def test_a_4000_character_address_is_refused_at_once() -> None:
    # Folding it into a To header took 17.8 s, after the person key was claimed.
    started = time.perf_counter()
    base = {"sender": "a@lynet.example", "reply_to": "b@lynet.example", "subject": "s"}
    with pytest.raises(MailRejected):
        mime_bytes(Email(to="æ" * 4000 + "@example.net", text="t", html="", **base))
    assert time.perf_counter() - started < 5  # generous: it is a length check


def test_outreach_request_round_trips_a_plain_address() -> None:
    request = make_request(email="Mette.Jensen+x@Example.net")
    again = OutreachRequest.model_validate_json(request.model_dump_json())
    assert again.email == "Mette.Jensen+x@Example.net"


# ------------------------------------------------------------------ the CLI
def test_cli_reads_deep_json_and_binary_brand_files_without_a_traceback(
    tmp_path: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from socialcare_cli.main import main

    deep = tmp_path / "deep.json"
    deep.write_text("[" * 200_000 + "]" * 200_000)
    assert main(["parse", "--source", "x", str(deep)]) == 2  # was RecursionError
    assert "nested too deeply" in capsys.readouterr().err

    monkeypatch.setattr("sys.stdin", io.StringIO('{"id": 1, "text": ' + "[" * 200_000 + "}\n"))
    assert main(["triage", "-"]) == 1
    assert "line 1: JSON nested too deeply" in capsys.readouterr().err

    binary = tmp_path / "brand.toml"
    binary.write_bytes(bytes(range(256)))
    monkeypatch.setattr("sys.stdin", io.StringIO('{"id": 1, "text": "hej"}\n'))
    assert main(["triage", "--brand-file", str(binary)]) == 2  # was UnicodeDecodeError
    assert "not UTF-8 text" in capsys.readouterr().err
