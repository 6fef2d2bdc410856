"""The CRM port, both adapters: the HTTP contract (docs/crm-api.yaml) over real HTTP
against the local contract server, and the SQLite directory built by crm-import's loader.

Failures of the CRM (5xx, 429, timeouts, bad bodies, a broken directory) must surface as
CrmError, which sends the message back to its queue; they never read as "no match".
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from openapi_schema_validator import validate as validate_schema
from openapi_spec_validator import validate as validate_spec

from socialcare.errors import ConfigError, CrmError
from socialcare.identity.blocking import KEYS_VERSION, TooManyCandidates, name_keys
from socialcare.identity.crm import crm_from_url
from socialcare.identity.http_crm import HttpCrm
from socialcare.identity.matching import identify
from socialcare.identity.names import Name
from socialcare.identity.ports import Crm
from socialcare.identity.sqlite_crm import SqliteCrm, import_directory
from socialcare.models import Mention, Reason
from socialcare_cli import servers
from tests.conftest import TESTS, load_json

CONTRACT = TESTS.parent / "docs" / "crm-api.yaml"
TOKEN = "test-crm-token"
NOW = datetime.now(UTC)


def ids(customers: list[Any]) -> list[str]:
    return [c.id for c in customers]


@pytest.fixture
def directory() -> Iterator[tuple[servers.ContractCrm, str]]:
    data = load_json("crm-identity.json")
    crm = servers.ContractCrm(data["customers"], data["interactions"], TOKEN)
    with servers.serve(crm) as url:
        yield crm, url


def http_crm(url: str, **options: Any) -> HttpCrm:
    return HttpCrm(url, TOKEN, **{"timeout_s": 2.0, "backoff_s": 0.01, **options})


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    path = tmp_path / "crm.db"
    assert import_directory(path, load_json("crm-identity.json")) == 19
    return path


@pytest.fixture(params=["http", "sqlite"])
def crm(request: pytest.FixtureRequest, directory: Any, sqlite_path: Path) -> Crm:
    """The same port, the same answers, whichever adapter the URL chooses."""
    if request.param == "http":
        return crm_from_url(directory[1], TOKEN, backoff_s=0.01)
    return crm_from_url(f"sqlite:///{sqlite_path}")


# ------------------------------------------------------------------ the port, both adapters


def test_handles_are_exact_lower_case_and_may_be_shared(crm: Crm) -> None:
    assert ids(crm.find_by_handle("x", "@MetteJensen")) == ["T-01"]
    assert sorted(ids(crm.find_by_handle("x", "familienholm"))) == ["T-02", "T-03"]
    assert crm.find_by_handle("bluesky", "mettejensen") == []  # the platform is part of it
    assert crm.find_by_handle("x", "mettejense") == []
    (lise,) = crm.find_by_handle("bluesky", "lise.bsky.social")
    assert lise.email is None and lise.handles == ["bluesky:lise.bsky.social"]


def test_email_lookup_ignores_case(crm: Crm) -> None:
    assert ids(crm.find_by_email("KAREN.poulsen@example.net ")) == ["T-04"]
    assert crm.find_by_email("nobody@example.net") == []


def test_name_candidates_fold_danish_spellings_and_rank_best_first(crm: Crm) -> None:
    assert ids(crm.find_by_name("Soeren Aeroe Hansen", 20))[0] == "T-13"
    assert ids(crm.find_by_name("Aagaard, Jørgen", 20))[0] == "T-14"
    assert sorted(ids(crm.find_by_name("Søren Hansen", 2))) == ["T-11", "T-12"]
    assert len(crm.find_by_name("Søren Hansen", 3)) == 3  # the limit holds
    near = ids(crm.find_by_name("Jens Hansen", 20))
    assert {"T-18", "T-19"} <= set(near[:3])  # a near spelling is a candidate too
    assert crm.find_by_name("Zyx Qwv", 20) == []


def test_interactions_closed_since_and_open_always(crm: Crm) -> None:
    recent = crm.interactions("T-10", NOW - timedelta(hours=72))
    assert [(i.channel, i.kind) for i in recent] == [("letter", "invoice")]
    month = crm.interactions("T-10", NOW - timedelta(days=30))
    assert {i.channel for i in month} == {"letter", "sms"}
    (ticket,) = crm.interactions("T-08", NOW)  # 20 days old, but open
    assert ticket.open and ticket.channel == "ticket" and ticket.at.tzinfo is not None
    assert crm.interactions("T-01", NOW - timedelta(days=30)) == []


def test_recorded_outreach_is_read_back(crm: Crm) -> None:
    crm.record_interaction(
        "T-01",
        {
            "channel": "email",
            "kind": "social_outreach",
            "at": NOW.isoformat(),
            "open": False,
            "platform": "x",
            "post_url": "https://x.com/mettejensen/status/1",
        },
    )
    (item,) = crm.interactions("T-01", NOW - timedelta(minutes=1))
    assert (item.channel, item.kind, item.open) == ("email", "social_outreach", False)


# ------------------------------------------------------------------ the HTTP contract


def test_contract_document_is_valid_openapi() -> None:
    spec = yaml.safe_load(CONTRACT.read_text())
    validate_spec(spec)
    assert set(spec["paths"]) == {"/customers", "/customers/{id}/interactions"}
    customer = spec["components"]["schemas"]["Customer"]["properties"]
    assert set(customer) == {
        "id",
        "name",
        "email",
        "language",
        "city",
        "handles",
        "do_not_contact",
    }


def test_contract_server_answers_match_the_document(directory: Any) -> None:
    schemas = yaml.safe_load(CONTRACT.read_text())["components"]["schemas"]
    _, url = directory
    auth = {"Authorization": f"Bearer {TOKEN}"}

    def get(path: str, **params: Any) -> Any:
        response = requests.get(f"{url}{path}", params=params, headers=auth, timeout=5)
        assert response.status_code == 200
        return response.json()

    for params in ({"handle": "x:familienholm"}, {"email": "ida.lund@example.net"}):
        for customer in get("/customers", **params)["customers"]:
            validate_schema(customer, schemas["Customer"])
    key = f"{KEYS_VERSION}:hnsn+srn"  # Søren Hansen
    found = get("/customers", name_key=key, limit=5)["customers"]
    assert len(found) == 3  # the two Søren Hansens and Søren Ærø-Hansen
    for customer in found:
        validate_schema(customer, schemas["Customer"])
    since = (NOW - timedelta(days=60)).isoformat()
    for item in get("/customers/T-10/interactions", since=since)["interactions"]:
        validate_schema(item, schemas["Interaction"])
    refused = requests.get(f"{url}/customers", params={"email": "x@y.z"}, timeout=5)
    assert refused.status_code == 401
    validate_schema(refused.json(), schemas["Error"])


def test_bearer_token_is_sent_and_a_wrong_one_is_an_error(directory: Any) -> None:
    _server, url = directory
    assert ids(http_crm(url).find_by_email("ida.lund@example.net")) == ["T-08"]
    with pytest.raises(CrmError, match="HTTP 401"):
        HttpCrm(url, "wrong-token", backoff_s=0.01).find_by_email("ida.lund@example.net")


def test_5xx_is_retried_then_succeeds(directory: Any) -> None:
    server, url = directory
    server.fail_next = [(503, {}, b'{"error": "busy"}'), (500, {}, b"oops")]
    assert ids(http_crm(url).find_by_handle("x", "mettejensen")) == ["T-01"]
    assert server.calls == 3


def test_persistent_5xx_is_a_crm_error_never_an_empty_answer(directory: Any) -> None:
    server, url = directory
    server.fail_next = [(502, {}, b"<html>bad gateway</html>")] * 10
    with pytest.raises(CrmError, match="HTTP 502"):
        http_crm(url, retries=2).find_by_handle("x", "mettejensen")
    assert server.calls == 3  # one try and two retries, capped


def test_429_waits_for_retry_after_then_succeeds(directory: Any) -> None:
    server, url = directory
    server.fail_next = [(429, {"Retry-After": "1"}, b'{"error": "slow down"}')]
    started = time.monotonic()
    assert ids(http_crm(url).find_by_email("ida.lund@example.net")) == ["T-08"]
    assert time.monotonic() - started >= 0.9  # Retry-After honoured (and capped: see http.py)
    assert server.calls == 2


def test_persistent_429_is_a_crm_error(directory: Any) -> None:
    server, url = directory
    server.fail_next = [(429, {"Retry-After": "0"}, b'{"error": "slow down"}')] * 10
    with pytest.raises(CrmError, match="HTTP 429"):
        http_crm(url, retries=2).find_by_name("Søren Hansen")
    assert server.calls == 3


def test_recording_is_not_retried_so_it_is_never_recorded_twice(directory: Any) -> None:
    server, url = directory
    server.fail_next = [(503, {}, b'{"error": "busy"}')] * 3
    with pytest.raises(CrmError):
        http_crm(url).record_interaction("T-01", {"channel": "email", "kind": "social_outreach"})
    assert server.calls == 1 and server.recorded == []


def test_a_slow_crm_times_out_as_a_crm_error(directory: Any) -> None:
    server, url = directory
    server.delay_s = 0.5
    started = time.monotonic()
    with pytest.raises(CrmError, match=r"unreachable: (ReadTimeout|ConnectionError)"):
        http_crm(url, timeout_s=0.1, retries=1).find_by_handle("x", "mettejensen")
    assert time.monotonic() - started < 0.45  # it gave up; it did not wait for the CRM
    assert server.calls == 2


@pytest.mark.parametrize(
    "body",
    [b"<html>maintenance</html>", b'{"items": []}', b'{"customers": [{"name": "no id"}]}'],
)
def test_unexpected_bodies_are_crm_errors(directory: Any, body: bytes) -> None:
    server, url = directory
    server.fail_next = [(200, {}, body)]
    with pytest.raises(CrmError):
        http_crm(url).find_by_handle("x", "mettejensen")


def test_unreachable_crm_is_a_crm_error() -> None:
    with servers.serve(lambda *a: (200, {}, b"{}")) as url:
        pass  # the port is closed again
    with pytest.raises(CrmError, match="unreachable"):
        http_crm(url, retries=0).find_by_email("a@b.c")


# ------------------------------------------------------------------ the SQLite directory


def test_directory_lookups_use_indexes_not_scans(sqlite_path: Path) -> None:
    crm = SqliteCrm(sqlite_path)
    statements: list[str] = []
    crm._db.set_trace_callback(statements.append)
    crm.find_by_handle("x", "familienholm")
    crm.find_by_email("ida.lund@example.net")
    crm.find_by_name("Søren Ærø-Hansen", 20)
    crm.interactions("T-10", NOW - timedelta(days=30))
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) >= 5  # handles live beside the customer: one statement each
    for sql in selects:
        plan = [row[-1] for row in crm._db.execute(f"EXPLAIN QUERY PLAN {sql}")]
        # "cand" (namesakes from the pair index) and "hit" (the best `limit` of them) are
        # the small subquery results; tables are only searched through an index.
        scans = [s for s in plan if s.startswith("SCAN") and s not in ("SCAN cand", "SCAN hit")]
        assert not scans, (sql, plan)


def test_reimport_replaces_a_customer_and_its_keys(sqlite_path: Path) -> None:
    moved = {"id": "T-01", "name": "Mette Dahl", "email": "mette@example.org", "handles": []}
    import_directory(sqlite_path, {"customers": [moved]})
    crm = SqliteCrm(sqlite_path)
    assert crm.find_by_handle("x", "mettejensen") == []
    assert ids(crm.find_by_email("mette@example.org")) == ["T-01"]
    assert "T-01" not in ids(crm.find_by_name("Mette Jensen", 20))  # old name keys are gone
    assert ids(crm.find_by_name("Dahl, Mette", 20)) == ["T-01"]


def test_missing_or_foreign_file_is_a_config_error_not_an_empty_directory(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError, match="no CRM directory"):
        crm_from_url(f"sqlite:///{tmp_path}/nothing.db")
    with pytest.raises(ConfigError, match="relative"):
        crm_from_url("sqlite:///relative/nothing.db")
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(ConfigError, match="not a socialcare CRM directory"):
        SqliteCrm(other)


def test_a_broken_directory_is_a_crm_error(sqlite_path: Path) -> None:
    crm = SqliteCrm(sqlite_path)
    with sqlite3.connect(sqlite_path) as other:
        other.execute("DROP TABLE interactions")
    with pytest.raises(CrmError, match="interactions failed"):
        crm.interactions("T-10", NOW)
    with pytest.raises(CrmError, match="no such customer"):
        crm.record_interaction("T-99", {"channel": "email", "at": NOW.isoformat()})


def test_crm_url_chooses_the_adapter(directory: Any, sqlite_path: Path) -> None:
    assert isinstance(crm_from_url(directory[1], TOKEN), HttpCrm)
    assert isinstance(crm_from_url(f"sqlite:///{sqlite_path}"), SqliteCrm)
    with pytest.raises(ConfigError, match="bearer token"):
        crm_from_url(directory[1], "")
    with pytest.raises(ConfigError, match="CRM URL"):
        crm_from_url("ftp://crm.example/", TOKEN)


def test_crm_import_command_builds_a_directory(tmp_path: Path) -> None:
    from socialcare_cli.main import main

    source = tmp_path / "crm.json"
    source.write_text(json.dumps(load_json("crm-identity.json")))
    target = tmp_path / "dir.db"
    assert main(["crm-import", str(source), "--to", f"sqlite:///{target}"]) == 0
    assert ids(SqliteCrm(target).find_by_handle("x", "rasmusn")) == ["T-09"]


# ------------------------------------------------------------------ name search over HTTP


def test_http_name_search_asks_one_exact_name_key_at_a_time(directory: Any) -> None:
    """A CRM with exact-only search (the contract server matches stored keys exactly)
    still returns the look-alikes: the adapter asks for every key of the name."""
    server, _url = directory
    asked: list[str] = []
    answer = server.__call__

    def recording(method: str, path: str, query: dict[str, list[str]], *rest: Any) -> Any:
        asked.extend(query.get("name_key", []))
        return answer(method, path, query, *rest)

    with servers.serve(recording) as spy:
        found = ids(http_crm(spy).find_by_name("Søren Ærø-Hansen", 20))
    expected = {f"{KEYS_VERSION}:{k}" for k in name_keys(Name.parse("Søren Ærø-Hansen"))}
    assert sorted(asked) == sorted(expected) and len(expected) == 5
    assert found[0] == "T-13" and {"T-11", "T-12"} <= set(found)  # subset names rival


def test_a_full_page_of_one_key_is_never_decided_on(directory: Any) -> None:
    """More namesakes than one search returns: the candidates may be incomplete, so the
    name match is ambiguous rather than made on part of them."""
    server, url = directory
    server.customers = [
        {"id": f"N-{i:03d}", "name": "Ib Jensen", "email": None, "handles": [], "city": "Ry"}
        for i in range(100)
    ]
    crm = http_crm(url)
    with pytest.raises(TooManyCandidates):
        crm.find_by_name("Ib Jensen", 20)
    mention = Mention(
        source="x",
        post_id="1",
        handle="ibjensen",
        display_name="Ib Jensen",
        location="Ry",
        text="nede",
        created_at=NOW,
    )
    who = identify(mention, crm, name_matching="on")
    assert (who.customer, who.reason) == (None, Reason.AMBIGUOUS_MATCH)
