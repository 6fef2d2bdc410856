"""`socialcare crm-import`: JSON and JSON Lines streamed into a SQLite directory; bad
input stops it with a position and leaves the directory as it was; a directory of the
previous schema is refused with the command that rebuilds it."""

from __future__ import annotations

import io
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from socialcare.errors import ConfigError
from socialcare.identity.sqlite_crm import SqliteCrm
from socialcare_cli.main import main
from tests.conftest import load_json

NOW = datetime.now(UTC)


def ids(customers: list[Any]) -> list[str]:
    return [c.id for c in customers]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["crm-import", *args])
    return code, capsys.readouterr().err


def test_json_lines_with_their_own_interactions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = load_json("crm-identity.json")
    lines = []
    for customer in data["customers"]:
        own = data["interactions"].get(customer["id"])
        lines.append(json.dumps({**customer, **({"interactions": own} if own else {})}))
    source = tmp_path / "crm.jsonl"
    source.write_text("\ufeff" + "\n".join(lines) + "\n\n")  # a BOM and a blank line
    target = tmp_path / "dir.db"
    code, err = run(capsys, str(source), "--to", f"sqlite:///{target}")
    assert code == 0 and "19 customers" in err
    crm = SqliteCrm(target)
    assert ids(crm.find_by_handle("x", "rasmusn")) == ["T-09"]
    assert {i.channel for i in crm.interactions("T-10", NOW - timedelta(days=30))} == {
        "letter",
        "sms",
    }
    assert ids(crm.find_by_name("Soeren Aeroe Hansen", 1)) == ["T-13"]
    # a new file gets its lookup indexes after the customers: they must be there
    plan = sqlite3.connect(target).execute(
        "EXPLAIN QUERY PLAN SELECT rowid FROM customers WHERE email_key = 'x' OR name = 1"
    )
    assert {"customers_email", "customers_name"} <= {
        word for row in plan for word in str(row[-1]).split()
    }


def test_json_from_stdin_with_interactions_before_customers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = load_json("crm-identity.json")
    body = json.dumps({"interactions": data["interactions"], "customers": data["customers"]})
    target = tmp_path / "dir.db"
    stdin = mock.Mock(buffer=io.BytesIO(body.encode()))
    with mock.patch("sys.stdin", stdin):
        code, _ = run(capsys, "-", "--to", f"sqlite:///{target}")
    assert code == 0
    (ticket,) = SqliteCrm(target).interactions("T-08", NOW)
    assert ticket.open


@pytest.mark.parametrize(
    ("name", "body", "says"),
    [
        ("a.jsonl", '{"id": "A", "name": "Ane Holm"}\n{"id": "B", "name": "Bo\n', "line 2"),
        ("b.jsonl", '{"id": "A"}\n{"name": "no id"}\n', "customer #2"),
        ("c.jsonl", '{"id": "A"}\n["a list"]\n', "line 2"),
        ("d.json", '{"customers": [{"id": "A"}, {"id": "B", "name": 3}]}', "customer #2"),
        ("e.json", '{"customers": [{"id": "A"}, {"id": "B", "na', "not valid JSON"),
        ("f.json", '[{"id": "A"}]', "not a JSON object"),
    ],
)
def test_bad_input_stops_with_its_position_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, body: str, says: str
) -> None:
    target = tmp_path / "dir.db"
    source = tmp_path / name
    source.write_text(body)
    code, err = run(capsys, str(source), "--to", f"sqlite:///{target}")
    assert code == 2 and says in err
    assert "Bo" not in err and "no id" not in err  # positions, never content
    assert not target.exists() and not list(tmp_path.glob("*.partial"))
    # and an existing directory keeps what it had (one transaction)
    good = tmp_path / "good.jsonl"
    good.write_text('{"id": "Z", "name": "Ida Lund", "handles": ["x:idalund"]}\n')
    assert run(capsys, str(good), "--to", f"sqlite:///{target}")[0] == 0
    assert run(capsys, str(source), "--to", f"sqlite:///{target}")[0] == 2
    crm = SqliteCrm(target)
    assert ids(crm.find_by_handle("x", "idalund")) == ["Z"]
    assert crm.find_by_name("Ane Holm", 5) == []


def test_a_directory_of_the_previous_schema_names_the_rebuild_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "old.db"
    with sqlite3.connect(old) as db:  # what schema 2 left: its tables, user_version 2
        db.execute("CREATE TABLE customers (id TEXT PRIMARY KEY, name TEXT)")
        db.execute("PRAGMA user_version = 2")
    with pytest.raises(ConfigError) as refused:
        SqliteCrm(old)
    assert f"socialcare crm-import CUSTOMERS.json --to sqlite:///{old} --replace" in str(
        refused.value
    )
    source = tmp_path / "crm.jsonl"
    source.write_text('{"id": "A", "name": "Ane Holm", "city": "Horsens"}\n')
    code, err = run(capsys, str(source), "--to", f"sqlite:///{old}")
    assert code == 2 and "--replace" in err  # an update of an old file is refused too
    assert run(capsys, str(source), "--to", f"sqlite:///{old}", "--replace")[0] == 0
    assert ids(SqliteCrm(old).find_by_name("Ane Holm", 5)) == ["A"]


def test_progress_only_on_a_terminal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "crm.jsonl"
    source.write_text(
        "".join(json.dumps({"id": f"C{i}", "name": "Ane Holm"}) + "\n" for i in range(5))
    )
    code, err = run(capsys, str(source), "--to", f"sqlite:///{tmp_path / 'a.db'}")
    assert code == 0 and "customers read" not in err

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    with mock.patch("sys.stderr", terminal):
        assert main(["crm-import", str(source), "--to", f"sqlite:///{tmp_path / 'b.db'}"]) == 0
    assert "\r5 customers read" in terminal.getvalue()
