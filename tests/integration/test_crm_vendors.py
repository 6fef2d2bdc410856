"""The CRM port on HubSpot, Zendesk and the composite `hubspot+zendesk`: the real
adapters over real HTTP against the stand-ins (socialcare crm-serve), which speak the
vendors' published shapes, loaded with the identity test set (tests/data/crm-identity.json).

The done-when comparison is here: through `socialcare decide`, every kind gives the same
decision as the SQLite directory for every identity and policy trap. And the vendors'
failures: a refused credential is a CrmAuthError at the first call (and a CrmAuthFailed
count), throttling is waited out (Retry-After, a shared limiter) or sent back to the
queue, 5xx and timeouts are retried and then CrmErrors; a note is never created twice.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from socialcare.errors import CrmAuthError, CrmError
from socialcare.identity.crm import CrmConfig, build_crm
from socialcare.identity.ports import Crm
from socialcare.identity.salesforce import sosl
from socialcare.identity.sqlite_crm import import_directory
from socialcare.identity.vendor import reset_limiters
from socialcare_cli import servers
from socialcare_cli.cmd_crm_serve import standin
from socialcare_cli.main import main
from socialcare_cli.standin_hubspot import HubSpotStandIn
from socialcare_cli.standin_salesforce import SalesforceStandIn
from socialcare_cli.standin_zendesk import ZendeskStandIn
from tests.conftest import load_json
from tests.integration.test_decide import CASES, mention_lines

TOKEN = "test-crm-token"
NOW = datetime.now(UTC)
KINDS = ["hubspot", "zendesk", "salesforce", "hubspot+zendesk", "salesforce+zendesk"]
# Salesforce's client-credentials flow needs the connected app's id; the secret is TOKEN.
SALESFORCE = {"salesforce": {"client_id": "socialcare-test"}}
OUTREACH = {"channel": "email", "kind": "social_outreach", "open": False}
POST_URL = "https://x.com/mettejensen/status/1"


@pytest.fixture(autouse=True)
def fresh_limiters() -> Iterator[None]:
    """Each test starts with the container's limiters unpaused and full."""
    reset_limiters()
    yield
    reset_limiters()


@pytest.fixture(params=KINDS)
def vendor(request: pytest.FixtureRequest) -> Iterator[tuple[str, Any, str]]:
    kind = request.param
    route = standin(kind, load_json("crm-identity.json"))
    with servers.serve(route) as url:
        yield kind, route, url


def port(kind: str, url: str, token: str = TOKEN, **options: Any) -> Crm:
    config = {"timeout_s": 2.0, "backoff_s": 0.01, "options": SALESFORCE, **options}
    return build_crm(CrmConfig(url=url, kind=kind, token=token, **config))


def data_ids(route: Any, customers: list[Any]) -> list[str]:
    """The identity set's ids of customers the vendor returned under its own ids."""
    back = {vendor_id: data_id for data_id, vendor_id in route.ids.items()}
    return [back[c.id] for c in customers]


# ------------------------------------------------------------------ the port, every kind


def test_handles_are_exact_and_may_be_shared(vendor: tuple[str, Any, str]) -> None:
    kind, route, url = vendor
    crm = port(kind, url)
    assert data_ids(route, crm.find_by_handle("x", "@MetteJensen")) == ["T-01"]
    assert sorted(data_ids(route, crm.find_by_handle("x", "familienholm"))) == ["T-02", "T-03"]
    assert crm.find_by_handle("bluesky", "mettejensen") == []  # the platform is part of it
    assert crm.find_by_handle("x", "mettejense") == []
    (lise,) = crm.find_by_handle("bluesky", "lise.bsky.social")  # a custom field, not X's
    assert lise.email is None and lise.name == "Lise Munk" and lise.city == "Esbjerg"
    # a hostile handle stays one value (a JSON string, or one quoted search phrase)
    assert crm.find_by_handle("x", 'mettejensen" role:admin "x') == []


def test_email_lookup_ignores_case(vendor: tuple[str, Any, str]) -> None:
    kind, route, url = vendor
    crm = port(kind, url)
    (karen,) = crm.find_by_email("KAREN.poulsen@example.net ")
    assert data_ids(route, [karen]) == ["T-04"] and karen.language == "da"
    assert crm.find_by_email("nobody@example.net") == []
    (torben,) = crm.find_by_handle("x", "torben")
    assert torben.do_not_contact


def test_name_candidates_are_asked_by_key_and_scored_here(vendor: tuple[str, Any, str]) -> None:
    kind, route, url = vendor
    crm = port(kind, url)
    assert data_ids(route, crm.find_by_name("Soeren Aeroe Hansen", 20))[0] == "T-13"
    assert data_ids(route, crm.find_by_name("Aagaard, Jørgen", 20))[0] == "T-14"
    assert sorted(data_ids(route, crm.find_by_name("Søren Hansen", 2))) == ["T-11", "T-12"]
    near = data_ids(route, crm.find_by_name("Jens Hansen", 20))
    assert {"T-18", "T-19"} <= set(near[:3])  # a near spelling is a candidate too
    assert crm.find_by_name("Zyx Qwv", 20) == []


def test_conversations_say_who_is_already_in_contact(vendor: tuple[str, Any, str]) -> None:
    kind, route, url = vendor
    crm = port(kind, url)
    month = NOW - timedelta(days=30)
    (sms,) = [i for i in crm.interactions(route.ids["T-07"], month) if i.channel == "sms"]
    assert NOW - sms.at < timedelta(hours=4)  # an SMS 3 hours ago
    (ticket,) = crm.interactions(route.ids["T-08"], NOW)  # 20 days old, but open
    assert ticket.open and ticket.at.tzinfo is not None
    (ours,) = crm.interactions(route.ids["T-09"], month)
    assert (ours.channel, ours.kind) == ("email", "social_outreach")
    assert crm.interactions(route.ids["T-01"], month) == []
    older = crm.interactions(route.ids["T-10"], NOW - timedelta(days=60))
    assert "social_outreach" in {i.kind for i in older}  # 40 days ago: read when asked


def test_recorded_outreach_is_read_back_and_holds_no_post(vendor: tuple[str, Any, str]) -> None:
    kind, route, url = vendor
    crm = port(kind, url)
    contact = route.ids["T-01"]
    record = {**OUTREACH, "at": NOW.isoformat(), "platform": "x", "post_url": POST_URL}
    crm.record_interaction(contact, record)
    (item,) = crm.interactions(contact, NOW - timedelta(minutes=1))
    assert (item.channel, item.kind, item.open) == ("email", "social_outreach", False)
    stored = json.dumps(_written(route))
    assert "social_outreach" in stored and "x.com" not in stored and "mettejensen" not in stored


def _written(route: Any) -> list[Any]:
    """What the adapters wrote: HubSpot notes, Salesforce tasks and case comments, Zendesk
    tickets and comments."""
    parts = getattr(route, "parts", [route])
    written: list[Any] = []
    for part in parts:
        if isinstance(part, HubSpotStandIn):
            written += [o for o in part.objects["notes"].values() if o["written"] > 0]
        if isinstance(part, SalesforceStandIn):
            made = [r for k in ("Task", "CaseComment") for r in part.objects[k].values()]
            written += [r for r in made if r["written"] > 0]
        if isinstance(part, ZendeskStandIn):
            written += [t for t in part.tickets.values() if t["via"]["channel"] == "api"]
            written += [c for comments in part.comments.values() for c in comments]
    return [{k: v for k, v in item.items() if k not in ("contacts", "written")} for item in written]


def test_a_composite_asks_the_help_desk_and_notes_there() -> None:
    route = standin("hubspot+zendesk", load_json("crm-identity.json"))
    hubspot, zendesk = route.parts
    with servers.serve(route) as url:
        crm = port("hubspot+zendesk", url)
        (peter,) = crm.find_by_handle("x", "peterlarsen")
        assert [i.channel for i in crm.interactions(peter.id, NOW - timedelta(days=3))] == ["sms"]
        # the mailer's container never saw the customer: it reads them by id
        fresh = port("hubspot+zendesk", url)
        fresh.record_interaction(route.ids["T-01"], {**OUTREACH, "at": NOW.isoformat()})
        (noted,) = crm.interactions(route.ids["T-01"], NOW - timedelta(minutes=1))
        with pytest.raises(CrmError, match="without an e-mail"):  # Lise: none to know her by
            fresh.record_interaction(route.ids["T-06"], {**OUTREACH, "at": NOW.isoformat()})
    assert noted.kind == "social_outreach"
    assert not [o for o in hubspot.objects["notes"].values() if o["written"] > 0]
    assert [t["requester_id"] for t in zendesk.tickets.values() if t["via"]["channel"] == "api"]


def test_a_composite_creates_the_requester_the_help_desk_does_not_know_yet() -> None:
    data = load_json("crm-identity.json")
    crm_only = {**data, "customers": data["customers"][:1]}
    hubspot = HubSpotStandIn(data, interactions=False)
    zendesk = ZendeskStandIn({**crm_only, "interactions": {}})
    with servers.serve(servers.Composite(hubspot, zendesk)) as url:
        crm = port("hubspot+zendesk", url)
        karen = hubspot.ids["T-04"]
        assert crm.interactions(karen, NOW - timedelta(days=30)) == []
        crm.record_interaction(karen, {**OUTREACH, "at": NOW.isoformat()})
        (item,) = crm.interactions(karen, NOW - timedelta(minutes=1))
    assert item.kind == "social_outreach"
    assert any(u["email"] == "Karen.Poulsen@example.net" for u in zendesk.users.values())


# ------------------------------------------------------------------ the done-when comparison


def _decide(*args: str) -> list[dict[str, Any]]:
    out = io.StringIO()
    with mock.patch("sys.stdin", io.StringIO(mention_lines())), mock.patch("sys.stdout", out):
        assert main(["decide", *args, "--name-matching", "on", "-"]) == 0
    return [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # no AWS call may succeed
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("SOCIALCARE_CRM_TOKEN", TOKEN)
    monkeypatch.setenv("HTTP_BACKOFF_S", "0.01")
    for name in ("NAME_MATCHING", "CRM_KIND", "HELP_DESK_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CRM_OPTIONS", json.dumps(SALESFORCE))


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_decides_as_sqlite(offline: None, kind: str, tmp_path: Path) -> None:
    """0 wrong-person contacts, ambiguous stays ambiguous, already-in-contact from the help
    desk when one is configured: the same decision, customer and match for every trap."""
    path = tmp_path / "crm.db"
    import_directory(path, load_json("crm-identity.json"))
    expected = _decide("--crm", f"sqlite:///{path}")
    assert [(r["reason"], r["customer_id"], r["match"]) for r in expected] == [c[2] for c in CASES]
    route = standin(kind, load_json("crm-identity.json"))
    with servers.serve(route) as url:
        rows = _decide("--crm-kind", kind, "--crm", url)
    back = {vendor_id: data_id for data_id, vendor_id in route.ids.items()}
    for row in rows:
        row["customer_id"] = back.get(row["customer_id"])
    assert rows == expected
    if "+" in kind:  # the CRM held no interactions: "already in contact" came from Zendesk
        held = ("tickets", "communications", "Case", "Task")
        assert not any(route.parts[0].objects.get(k) for k in held)


# ------------------------------------------------------------------ failures


def _vendor(kind: str) -> tuple[Any, Any]:
    """A single vendor's stand-in and a place to serve it."""
    route = standin(kind, load_json("crm-identity.json"))
    return route, servers.serve(route)


@pytest.mark.parametrize("kind", ["hubspot", "zendesk"])
def test_a_wrong_credential_is_a_clear_error_at_the_first_call(
    kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    route, serving = _vendor(kind)
    with serving as url:
        crm = port(kind, url, token="wrong-token")
        with pytest.raises(CrmAuthError, match=r"refused the credentials \(HTTP 401") as caught:
            crm.find_by_handle("x", "mettejensen")
    assert route.calls == 1  # not retried: a wrong token stays wrong
    assert isinstance(caught.value, CrmError)  # so the message waits on its queue
    metric = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "{" in line]
    assert [m["CrmAuthFailedTotal"] for m in metric if "CrmAuthFailedTotal" in m] == [[1.0]]


def test_a_composite_help_desk_with_a_wrong_token_fails_on_its_first_call() -> None:
    route = standin("hubspot+zendesk", load_json("crm-identity.json"))
    with servers.serve(route) as url:
        config = CrmConfig(url=url, kind="hubspot+zendesk", token=TOKEN, help_desk_token="nope")
        crm = build_crm(config)
        (peter,) = crm.find_by_handle("x", "peterlarsen")  # the CRM's token is good
        with pytest.raises(CrmAuthError, match="Zendesk refused"):
            crm.interactions(peter.id, NOW - timedelta(days=3))


@pytest.mark.parametrize("kind", ["hubspot", "zendesk"])
def test_429_waits_for_retry_after_then_succeeds(kind: str) -> None:
    route, serving = _vendor(kind)
    with serving as url:
        route.fail_next = [route.throttle(1)]
        started = time.monotonic()
        assert len(port(kind, url).find_by_handle("x", "mettejensen")) == 1
    assert time.monotonic() - started >= 0.9 and route.calls == 2


@pytest.mark.parametrize("kind", ["hubspot", "zendesk"])
def test_a_long_retry_after_goes_back_to_the_queue_and_holds_the_container(kind: str) -> None:
    route, serving = _vendor(kind)
    with serving as url:
        route.fail_next = [route.throttle(60)]
        crm = port(kind, url)
        started = time.monotonic()
        with pytest.raises(CrmError, match=r"throttled \(HTTP 429"):
            crm.find_by_handle("x", "mettejensen")
        assert time.monotonic() - started < 1  # it did not sleep the minute away
        with pytest.raises(CrmError, match="rate limit"):
            port(kind, url).find_by_email("ida.lund@example.net")  # another adapter, paused too
    assert route.calls == 1


@pytest.mark.parametrize("kind", ["hubspot", "zendesk"])
def test_5xx_and_timeouts_are_retried_then_crm_errors(kind: str) -> None:
    route, serving = _vendor(kind)
    with serving as url:
        route.fail_next = [(503, {}, b"busy"), (500, {}, b"{}")]
        assert len(port(kind, url).find_by_handle("x", "mettejensen")) == 1
        assert route.calls == 3
        route.fail_next = [(502, {}, b"<html>bad gateway</html>")] * 5
        with pytest.raises(CrmError, match="HTTP 502"):
            port(kind, url).find_by_handle("x", "mettejensen")
        route.fail_next, route.delay_s = [], 0.3
        with pytest.raises(CrmError, match=r"unreachable: (ReadTimeout|ConnectionError)"):
            port(kind, url, timeout_s=0.05, retries=1).find_by_handle("x", "mettejensen")


@pytest.mark.parametrize("kind", ["hubspot", "zendesk"])
def test_a_note_is_never_created_twice(kind: str) -> None:
    route, serving = _vendor(kind)
    with serving as url:
        crm = port(kind, url)
        contact = route.ids["T-01"]
        before = len(_written(route))
        route.fail_next = [(500, {}, b"{}")] * 3  # maybe written: never sent again
        with pytest.raises(CrmError, match="HTTP 500"):
            crm.record_interaction(contact, {**OUTREACH, "at": NOW.isoformat()})
        assert len(_written(route)) == before
        route.fail_next = [route.throttle(0)]  # refused before anything was done: sent again
        crm.record_interaction(contact, {**OUTREACH, "at": NOW.isoformat()})
    assert len(_written(route)) == before + (1 if kind == "hubspot" else 2)  # ticket + comment


@pytest.mark.parametrize("kind", ["hubspot", "zendesk"])
def test_a_burst_beyond_the_vendors_budget_is_waited_out(kind: str) -> None:
    route = standin(kind, load_json("crm-identity.json"), budget=(4, 1.0))
    with servers.serve(route) as url:
        crm = port(kind, url)
        for _ in range(3):  # 9 lookups, more than twice the second's budget
            assert len(crm.find_by_handle("x", "mettejensen")) == 1
            assert len(crm.find_by_email("ida.lund@example.net")) == 1
            assert len(crm.find_by_handle("x", "familienholm")) == 2


@pytest.mark.parametrize("kind", ["hubspot", "zendesk"])
def test_bodies_of_the_wrong_shape_are_crm_errors(kind: str) -> None:
    route, serving = _vendor(kind)
    with serving as url:
        for body in (b"<html>maintenance</html>", b'{"results": 3, "users": 3}'):
            route.fail_next = [(200, {}, body)]
            with pytest.raises(CrmError):
                port(kind, url).find_by_handle("x", "mettejensen")


def test_search_index_lag_is_tolerated() -> None:
    """A note HubSpot has not indexed yet reads as not there (the mailer's per-person key
    holds the cooldown meanwhile); once indexed it is read."""
    route = HubSpotStandIn(load_json("crm-identity.json"), index_lag_s=0.5)
    with servers.serve(route) as url:
        crm = port("hubspot", url)
        crm.record_interaction(route.ids["T-01"], {**OUTREACH, "at": NOW.isoformat()})
        assert crm.interactions(route.ids["T-01"], NOW - timedelta(minutes=1)) == []
        time.sleep(0.6)
        assert len(crm.interactions(route.ids["T-01"], NOW - timedelta(minutes=1))) == 1


# ------------------------------------------------------------------ the documented shapes


def _replay(answers: list[tuple[int, Any]]) -> tuple[list[tuple[str, str, Any]], Any]:
    """A server answering `answers` in turn; records (method, path, query or body)."""
    asked: list[tuple[str, str, Any]] = []

    def route(method: str, path: str, query: Any, body: bytes, headers: Any) -> Any:
        asked.append((method, path, json.loads(body) if body else query))
        status, answer = answers.pop(0)
        return status, {"Content-Type": "application/json"}, json.dumps(answer).encode()

    return asked, route


def test_hubspot_reference_shapes_page_through_after_and_check_each_match() -> None:
    shapes = load_json("vendors/hubspot.json")
    asked, route = _replay([(200, shapes["search_page_1"]), (200, shapes["search_page_2"])])
    with servers.serve(route) as url:
        found = port("hubspot", url).find_by_handle("x", "mettejensen")
    # "@MetteJensen" and "mettejensen" are the handle; "mettejensen2" is not
    assert [(c.id, c.name, c.handles) for c in found] == [
        ("51", "Mette Jensen", ["x:mettejensen"]),
        ("52", "Jens Holm", ["x:mettejensen"]),
    ]
    assert (
        asked[1][2]["after"] == "NTI1Cg%3D%3D" and asked[0][1] == "/crm/v3/objects/contacts/search"
    )
    errors = [(401, shapes["error_401"])]
    with (
        servers.serve(_replay(errors)[1]) as url,
        pytest.raises(CrmAuthError, match="INVALID_AUTHENTICATION"),
    ):
        port("hubspot", url).find_by_email("a@b.dk")


def test_hubspot_date_versioned_paths_are_used_when_configured() -> None:
    shapes = load_json("vendors/hubspot.json")
    asked, route = _replay([(200, {**shapes["search_page_2"], "results": []})])
    options = {"hubspot": {"api_version": "2026-03"}}
    with servers.serve(route) as url:
        assert port("hubspot", url, options=options).find_by_email("a@b.dk") == []
    assert asked[0][1] == "/crm/objects/2026-03/contacts/search"


def test_zendesk_reference_shapes_follow_next_page_and_check_identities() -> None:
    shapes = load_json("vendors/zendesk.json")
    first, second = shapes["users_page_1"], shapes["users_page_2"]
    recently = (NOW - timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    tickets = json.loads(
        json.dumps(shapes["tickets_requested"]).replace("UPDATED_RECENTLY", recently)
    )
    answers: list[tuple[int, Any]] = [(200, first), (200, second), (200, tickets)]
    asked, route = _replay(answers)
    with servers.serve(route) as url:
        first["next_page"] = f"{url}/api/v2/users/search.json?page=2"
        crm = port("zendesk", url)
        found = crm.find_by_handle("x", "mettejensen")
        history = crm.interactions("9001", NOW - timedelta(days=3))
    # 9002 matched the free text only; 9001 and 9003 hold the twitter identity
    assert [(c.id, c.city, c.language) for c in found] == [
        ("9001", "Aarhus", "da"),
        ("9003", None, "da"),
    ]
    assert "include" in asked[0][2] and asked[1][2] == {"page": ["2"]}
    # a solved SMS ticket touched 5 h ago; a pending web ticket; a closed one of last year
    assert [(i.channel, i.open) for i in history] == [("ticket", True), ("sms", False)]
    with (
        servers.serve(_replay([(401, shapes["error_401"])])[1]) as url,
        pytest.raises(CrmAuthError, match="Zendesk refused"),
    ):
        port("zendesk", url).find_by_email("a@b.dk")


def test_name_keys_tokens_are_the_value_the_vendors_field_holds(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`socialcare name-keys --tokens`: what a company imports into the custom field."""
    route = HubSpotStandIn(load_json("crm-identity.json"))
    lines = '{"id": "T-13", "name": "Søren Ærø-Hansen"}\n'
    with mock.patch("sys.stdin", io.StringIO(lines)):
        assert main(["name-keys", "--tokens", "-"]) == 0
    (row,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    stored = route.objects["contacts"][route.ids["T-13"]]["properties"]["socialcare_name_keys"]
    assert row["tokens"] == stored and len(row["tokens"].split()) == len(row["name_keys"])


# ------------------------------------------------------------------ Salesforce


@pytest.fixture
def salesforce() -> Iterator[tuple[SalesforceStandIn, str]]:
    route = SalesforceStandIn(load_json("crm-identity.json"))
    with servers.serve(route) as url:
        yield route, url


def test_salesforce_a_wrong_secret_is_a_clear_error_at_the_first_call(
    salesforce: tuple[SalesforceStandIn, str], capsys: pytest.CaptureFixture[str]
) -> None:
    route, url = salesforce
    with pytest.raises(CrmAuthError, match=r"Salesforce refused .*HTTP 400 invalid_client"):
        port("salesforce", url, token="wrong-secret").find_by_email("ida.lund@example.net")
    assert route.calls == 1 and route.tokens_issued == 0  # the token request, not retried
    metric = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "{" in line]
    assert [m["CrmAuthFailedTotal"] for m in metric if "CrmAuthFailedTotal" in m] == [[1.0]]
    with pytest.raises(CrmAuthError, match="client_id"):  # no connected app configured
        port("salesforce", url, options={}).find_by_email("ida.lund@example.net")


def test_salesforce_an_expired_session_is_refreshed_once_and_the_token_shared(
    salesforce: tuple[SalesforceStandIn, str],
) -> None:
    route, url = salesforce
    crm = port("salesforce", url)
    assert len(crm.find_by_handle("x", "mettejensen")) == 1
    assert len(port("salesforce", url).find_by_email("ida.lund@example.net")) == 1
    assert route.tokens_issued == 1  # one token for the container
    route.expire_sessions()
    assert len(crm.find_by_handle("x", "mettejensen")) == 1  # 401 INVALID_SESSION_ID, then ok
    assert route.tokens_issued == 2
    route.secret = "rotated"  # the secret was rotated and the session ended: refused
    route.expire_sessions()
    with pytest.raises(CrmAuthError, match="invalid_client"):
        crm.find_by_handle("x", "mettejensen")


def test_salesforce_the_daily_limit_is_throttling_and_the_container_holds_off() -> None:
    route = SalesforceStandIn(load_json("crm-identity.json"), daily_limit=3)
    with servers.serve(route) as url:
        crm = port("salesforce", url)
        assert len(crm.find_by_email("ida.lund@example.net")) == 1  # 1 of 3, 2 left
        with pytest.raises(CrmError, match=r"throttled \(HTTP 403 REQUEST_LIMIT_EXCEEDED"):
            route.used = 3
            crm.find_by_email("ida.lund@example.net")
        asked = route.calls
        with pytest.raises(CrmError, match="rate limit"):  # paused: Salesforce is not asked
            port("salesforce", url).find_by_email("ida.lund@example.net")
        assert route.calls == asked


def test_salesforce_keeps_a_share_of_the_daily_allocation_for_the_company() -> None:
    route = SalesforceStandIn(load_json("crm-identity.json"), daily_limit=100)
    with servers.serve(route) as url:
        crm = port("salesforce", url)
        route.used = 85
        assert len(crm.find_by_email("ida.lund@example.net")) == 1  # 86 of 100: 14 % left
        route.used = 90
        assert len(crm.find_by_email("ida.lund@example.net")) == 1  # the answer says 91/100
        with pytest.raises(CrmError, match="rate limit"):  # under 10 % left: hold off
            crm.find_by_email("ida.lund@example.net")


def test_salesforce_literals_are_escaped_and_hostile_values_stay_values(
    salesforce: tuple[SalesforceStandIn, str],
) -> None:
    route, url = salesforce
    crm = port("salesforce", url)
    for hostile in ("o'brien@example.net", "x' OR Email != 'y", "a\\' OR Id != '", "b\\@c.dk"):
        assert crm.find_by_email(hostile) == []  # a MALFORMED_QUERY would be a CrmError
    assert crm.find_by_handle("x", "mette' OR Name != '") == []
    route.add("Contact", {"LastName": "O'Brien", "Email": "o'brien@example.net"}, indexed=True)
    (found,) = crm.find_by_email("O'Brien@example.net")
    assert found.name == "O'Brien"
    api = crm.api  # type: ignore[attr-defined]
    hostile = "a} IN ALL FIELDS RETURNING User(Id) FIND {b* OR c"
    search = "FIND {%s} IN ALL FIELDS RETURNING Contact(Id)"
    assert api.search(search % sosl(hostile), "search") == []  # SOSL's operators as text
    with pytest.raises(CrmError, match="MALFORMED_SEARCH"):  # as Salesforce would
        api.search(search % hostile, "search")


def test_salesforce_pages_through_next_records_url(
    salesforce: tuple[SalesforceStandIn, str],
) -> None:
    route, url = salesforce
    route.batch_size = 1
    crm = port("salesforce", url)
    assert sorted(data_ids(route, crm.find_by_handle("x", "familienholm"))) == ["T-02", "T-03"]
    assert any("/query/01g" in path for _, path in route.requests)


def test_salesforce_5xx_is_retried_and_a_task_never_created_twice(
    salesforce: tuple[SalesforceStandIn, str],
) -> None:
    route, url = salesforce
    crm = port("salesforce", url)
    assert len(crm.find_by_handle("x", "mettejensen")) == 1  # a token in hand
    error = [{"message": "busy", "errorCode": "SERVER_UNAVAILABLE"}]
    route.fail_next = [(503, {}, json.dumps(error).encode())] * 2
    assert len(crm.find_by_handle("x", "mettejensen")) == 1
    contact = route.ids["T-01"]
    route.fail_next = [(500, {}, b"[]"), (500, {}, b"[]")]  # maybe written: sent once
    with pytest.raises(CrmError, match="HTTP 500"):
        crm.record_interaction(contact, {**OUTREACH, "at": NOW.isoformat()})
    assert _written(route) == [] and len(route.fail_next) == 1
    route.fail_next = []
    crm.record_interaction(contact, {**OUTREACH, "at": NOW.isoformat()})
    (task,) = _written(route)
    assert task["WhoId"] == contact and task["Status"] == "Completed"


def test_salesforce_outreach_as_a_private_case_comment(
    salesforce: tuple[SalesforceStandIn, str],
) -> None:
    route, url = salesforce
    crm = port(
        "salesforce",
        url,
        options={"salesforce": {**SALESFORCE["salesforce"], "outreach": "case_comment"}},
    )
    contact = route.ids["T-08"]  # has an open case
    crm.record_interaction(contact, {**OUTREACH, "at": NOW.isoformat(), "post_url": POST_URL})
    (comment,) = route.objects["CaseComment"].values()
    assert comment["IsPublished"] is False and "x.com" not in comment["CommentBody"]
    kinds = {i.kind for i in crm.interactions(contact, NOW - timedelta(minutes=1))}
    assert "social_outreach" in kinds


def test_salesforce_crm_check_names_what_is_missing(
    salesforce: tuple[SalesforceStandIn, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, url = salesforce
    monkeypatch.setenv("SOCIALCARE_CRM_TOKEN", TOKEN)
    options = {"salesforce": {**SALESFORCE["salesforce"], "language_field": "Sprog__c"}}
    args = ["crm-check", "--crm-kind", "salesforce", "--crm", url]
    args += ["--crm-options", json.dumps(options), "--email", "ida.lund@example.net"]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "ok    client credentials" in out and "FAIL  Contact field Sprog__c: missing" in out
    assert "ok    test contact by e-mail" in out
