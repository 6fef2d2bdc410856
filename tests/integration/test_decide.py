"""`socialcare decide`: the Lambda's triage, identity and policy code, dry-run against a
CRM over real HTTP (the contract server) or a SQLite directory; nothing sent or written.

The mentions below are the identity and policy traps; each line names the expected
(reason, customer id, match method) with name matching on.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from socialcare.identity.sqlite_crm import import_directory
from socialcare_cli import servers
from socialcare_cli.main import main
from tests.conftest import load_json

TOKEN = "test-crm-token"
COMPLAINT = "@lynetbredbaand internettet er nede igen og routeren virker ikke"

# id, fields, expected (reason, customer_id, match)
CASES: list[tuple[Any, dict[str, Any], tuple[str, str | None, str | None]]] = [
    (1, {"handle": "mettejensen"}, ("contact", "T-01", "handle")),
    (2, {"handle": "familienholm"}, ("ambiguous_match", None, "handle")),
    (
        "tp-3",
        {"source": "trustpilot", "handle": None, "email": "karen.poulsen@example.net"},
        ("contact", "T-04", "email"),
    ),
    (4, {"handle": "torben"}, ("do_not_contact", "T-05", "handle")),
    (5, {"source": "bluesky", "handle": "lise.bsky.social"}, ("no_email", "T-06", "handle")),
    (6, {"handle": "peterlarsen"}, ("already_in_contact", "T-07", "handle")),  # SMS 3 h ago
    (7, {"handle": "idalund"}, ("already_in_contact", "T-08", "handle")),  # open ticket
    (8, {"handle": "rasmusn"}, ("recently_contacted", "T-09", "handle")),  # ours, 10 days
    # ours 40 days ago, an SMS 100 h ago, a letter 2 h ago: none of them stops contact
    (9, {"handle": "oledahl"}, ("contact", "T-10", "handle")),
    (10, {"handle": "stranger", "display_name": "Some One"}, ("no_customer_match", None, None)),
    (1, {"handle": "mettejensen"}, ("duplicate", None, None)),  # the same post again
    (11, {"handle": "mettejensen"}, ("recently_contacted", "T-01", "handle")),  # 2nd post
    (12, {"text": "Tak for hjælpen Lynet, super service i dag!"}, ("not_complaint", None, None)),
    # ---- careful name matching
    (
        13,
        {"handle": "sh_aarhus", "display_name": "Søren Hansen", "location": "Aarhus"},
        ("ambiguous_match", None, "name"),  # two Søren Hansens (and a Søren Ærø-Hansen)
    ),
    (
        14,
        {"handle": "soerenaeroe", "display_name": "Soeren Aeroe Hansen", "location": "Odense"},
        # = Søren Ærø-Hansen, Odense; but each Søren Hansen may be him without his middle
        # name, so they are rivals (issue 17: a subset name rivals both ways)
        ("ambiguous_match", None, "name"),
    ),
    (
        15,
        {"handle": "sorenh82", "display_name": "Søren H.", "location": "Odense"},
        ("no_customer_match", None, None),  # an initial only
    ),
    (
        16,
        {"handle": "xyz123", "display_name": "Jørgen Ågård", "location": "København"},
        ("ambiguous_match", None, "name"),  # clear name, nothing corroborates it
    ),
    (
        17,
        {"handle": "jaagaard", "display_name": "Aagaard, Jørgen", "location": "Kolding, DK"},
        ("contact", "T-14", "name"),  # reordered, aa = å
    ),
    (
        18,
        {"display_name": "Birgitte Moeller Kristensen", "location": "Roskilde"},
        ("contact", "T-15", "name"),  # hyphen, oe = ø
    ),
    (
        19,
        {"handle": "annemetteskov", "display_name": "Anne Mette Skov"},
        ("contact", "T-16", "name"),  # the handle spells the name
    ),
    (
        20,
        {"handle": "aholm", "display_name": "Anne Holm", "location": "Horsens"},
        ("ambiguous_match", None, "name"),  # "Ane Holm" lives there too
    ),
    (
        21,
        {"handle": "jhansen", "display_name": "Jens Hansen", "location": "Aalborg"},
        ("ambiguous_match", None, "name"),  # and "Jens Hanssen", also Aalborg
    ),
    (22, {"handle": "sorenhansen82", "display_name": None}, ("no_customer_match", None, None)),
    (
        23,
        {"handle": "sorenhansen82", "display_name": "sorenhansen82", "location": "Aarhus"},
        ("no_customer_match", None, None),  # a bare handle
    ),
]
NAME_CASES = {13, 14, 16, 17, 18, 19, 20, 21}


def mention_lines() -> str:
    lines = []
    for post_id, fields, _ in CASES:
        line = {
            "id": post_id,
            "source": "x",
            "handle": None,
            "display_name": "Someone",
            "text": COMPLAINT,
        }
        line.update(fields)
        lines.append(json.dumps(line, ensure_ascii=False))
    return "\n".join(lines) + "\n"


@pytest.fixture
def contract() -> Iterator[tuple[servers.ContractCrm, str]]:
    data = load_json("crm-identity.json")
    crm = servers.ContractCrm(data["customers"], data["interactions"], TOKEN)
    with servers.serve(crm) as url:
        yield crm, url


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any AWS call would go to a closed port and fail: decide must make none."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("SOCIALCARE_CRM_TOKEN", TOKEN)
    monkeypatch.setenv("HTTP_BACKOFF_S", "0.01")
    monkeypatch.delenv("NAME_MATCHING", raising=False)


def decide(
    capsys: pytest.CaptureFixture[str], *args: str, stdin: str | None = None
) -> tuple[int, list[dict[str, Any]], str]:
    with mock.patch("sys.stdin", io.StringIO(stdin or "")):
        code = main(["decide", *args])
    captured = capsys.readouterr()
    return code, [json.loads(line) for line in captured.out.splitlines()], captured.err


@pytest.fixture(params=["http", "sqlite"])
def crm_url(request: pytest.FixtureRequest, contract: Any, tmp_path: Path) -> str:
    if request.param == "http":
        return str(contract[1])
    path = tmp_path / "crm.db"
    import_directory(path, load_json("crm-identity.json"))
    return f"sqlite:///{path}"


def test_every_reason_and_name_trap(
    no_aws: None, crm_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "mentions.jsonl"
    source.write_text(mention_lines())
    code, rows, err = decide(capsys, "--crm", crm_url, "--name-matching", "on", str(source))
    assert code == 0, err
    assert len(rows) == len(CASES)
    for (post_id, _, (reason, customer_id, match)), row in zip(CASES, rows, strict=True):
        assert row == {
            "mention_id": post_id,  # as given: numbers stay numbers
            "decision": "contact" if reason == "contact" else "skip",
            "reason": reason,
            "customer_id": customer_id,
            "match": match,
        }, post_id


def test_name_matching_off_by_default_looks_nobody_up_by_name(
    no_aws: None, contract: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _server, url = contract
    code, rows, _ = decide(capsys, "--crm", url, stdin=mention_lines())
    assert code == 0
    for (post_id, _, (reason, _cid, _m)), row in zip(CASES, rows, strict=True):
        if post_id in NAME_CASES:
            assert (row["reason"], row["match"]) == ("no_customer_match", None), post_id
        else:
            assert row["reason"] == reason, post_id


def test_reads_stdin_when_file_is_dash_and_writes_nothing(
    no_aws: None, contract: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server, url = contract
    sqlite = tmp_path / "crm.db"
    import_directory(sqlite, load_json("crm-identity.json"))
    before = hashlib.sha256(sqlite.read_bytes()).hexdigest()
    for crm in (url, f"sqlite:///{sqlite}"):
        code, rows, _ = decide(
            capsys, "--crm", crm, "--name-matching", "review", "-", stdin=mention_lines()
        )
        assert code == 0 and len(rows) == len(CASES)
        assert rows[13]["match"] == "name"  # review still matches; the mailer routes it
    assert server.recorded == []
    assert hashlib.sha256(sqlite.read_bytes()).hexdigest() == before


def test_created_at_defaults_to_now_and_old_posts_are_stale(
    no_aws: None, contract: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        {"id": "old", "source": "x", "handle": "mettejensen", "text": COMPLAINT},
        {
            "id": "older",
            "source": "x",
            "handle": "oledahl",
            "text": COMPLAINT,
            "created_at": "2020-01-01T10:00:00Z",
        },
    ]
    stdin = "".join(json.dumps(x) + "\n" for x in lines)
    _, rows, _ = decide(capsys, "--crm", contract[1], stdin=stdin)
    assert [r["reason"] for r in rows] == ["contact", "stale"]


def test_unreadable_lines_are_reported_without_content_and_the_rest_decided(
    no_aws: None, contract: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    good = json.dumps({"id": "a", "source": "x", "handle": "mettejensen", "text": COMPLAINT})
    stdin = f'{good}\n{{"secret text\n{{"source": "x", "text": "Søren Hemmelig"}}\n\n'
    code, rows, err = decide(capsys, "--crm", contract[1], stdin=stdin)
    assert code == 1
    assert [r["mention_id"] for r in rows] == ["a"]
    assert "line 2" in err and "line 3" in err
    assert "secret" not in err and "Hemmelig" not in err


def test_a_line_nested_too_deeply_is_one_unreadable_line_not_a_traceback(
    no_aws: None, contract: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    good = json.dumps({"id": "a", "source": "x", "handle": "mettejensen", "text": COMPLAINT})
    deep = '{"id": "b", "text": ' + "[" * 100_000 + "]" * 100_000 + "}"  # a RecursionError
    code, rows, err = decide(capsys, "--crm", contract[1], stdin=f"{deep}\n{good}\n")
    assert code == 1 and [r["mention_id"] for r in rows] == ["a"]
    assert "line 1" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "failure",
    [
        (503, {}, b'{"error": "down"}'),
        (429, {"Retry-After": "0"}, b'{"error": "slow down"}'),
    ],
)
def test_crm_failure_stops_with_an_error_never_a_no_match(
    no_aws: None,
    contract: Any,
    capsys: pytest.CaptureFixture[str],
    failure: tuple[int, dict[str, str], bytes],
) -> None:
    server, url = contract
    server.fail_next = [failure] * 20
    stdin = json.dumps({"id": 1, "source": "x", "handle": "nobody", "text": COMPLAINT}) + "\n"
    code, rows, err = decide(capsys, "--crm", url, stdin=stdin)
    assert code == 2 and rows == []
    assert f"CrmError: CRM GET answered HTTP {failure[0]}" in err
    assert server.calls == 3  # retried twice first


def test_crm_timeout_stops_with_an_error(
    no_aws: None, contract: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    server, url = contract
    server.delay_s = 0.3
    stdin = json.dumps({"id": 1, "source": "x", "handle": "mettejensen", "text": COMPLAINT})
    code, rows, err = decide(capsys, "--crm", url, "--timeout", "0.05", stdin=stdin + "\n")
    assert code == 2 and rows == [] and "unreachable" in err


def test_http_crm_needs_a_token(
    no_aws: None, contract: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.delenv("SOCIALCARE_CRM_TOKEN")
    code, _rows, err = decide(capsys, "--crm", contract[1], stdin="")
    assert code == 2 and "SOCIALCARE_CRM_TOKEN" in err


def test_placement_fields_are_read_and_lines_without_them_decide_as_before(
    no_aws: None, contract: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    review = "Ustabilt net\n\nForbindelsen falder ud hver aften."  # never names us
    base = {"source": "trustpilot", "email": "karen.poulsen@example.net", "text": review}
    lines = [
        {"id": "unplaced", **base},
        {"id": "placed", **base, "addressed": True, "stars": 2},
        {"id": "bare", **base, "text": "", "addressed": True, "stars": 1},
        {"id": "odd", **base, "addressed": True, "stars": 7},
        {"id": "nulls", **base, "addressed": None, "stars": None},
    ]
    stdin = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    code, rows, err = decide(capsys, "--crm", contract[1], stdin=stdin)
    assert code == 1  # the odd line
    assert {r["mention_id"]: (r["reason"], r["customer_id"]) for r in rows} == {
        "unplaced": ("not_complaint", None),
        "placed": ("contact", "T-04"),
        "bare": ("not_complaint", None),
        "nulls": ("not_complaint", None),
    }
    assert 'line 4: field "stars": must be a whole number from 1 to 5; skipped' in err
    assert "Forbindelsen" not in err
