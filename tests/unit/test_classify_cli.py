"""`socialcare triage`: JSON Lines in, one JSON line per input out, bad lines reported.

These pin the command's reading and writing with the cue rules (`--model rules`), whose
answers are fixed phrases; the default, the learned model, is test_triage_model.py's."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from socialcare_cli.main import main

RULES = ["--model", "rules"]
POSTS = [
    {"id": 1, "text": "Lynet router blinker rødt siden i går"},
    {"id": "x-2", "text": "YouSee er nede, godt jeg har Lynet", "lang": "da"},
    {"id": [3], "text": "@lynetbredbaand internet down since 7am"},
    {"id": 4.5, "text": "Tak for hjælpen @lynetbredbaand, super service i dag!"},
]


def write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "posts.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_one_line_per_input_with_the_id_echoed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, [json.dumps(p, ensure_ascii=False) for p in POSTS])
    assert main(["triage", *RULES, str(path)]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [o["id"] for o in out] == [1, "x-2", [3], 4.5]
    assert [o["complaint"] for o in out] == [True, False, True, False]
    first = out[0]
    assert set(first) == {"id", "language", "complaint", "score", "topics", "reasons"}
    assert first["language"] == "da" and first["topics"] == ["equipment"]
    assert first["reasons"] == ["problem cue: blinker rødt"]
    assert out[2]["language"] == "en"


def test_bad_lines_are_reported_by_number_and_the_rest_go_through(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        json.dumps(POSTS[0]),
        "{not json",
        json.dumps({"text": "no id"}),
        "",  # blank lines are skipped, not errors
        json.dumps({"id": 5, "text": 42}),
        json.dumps(["a list"]),
        json.dumps({"id": 7, "text": "Lynet er nede", "lang": 7}),
        json.dumps(POSTS[2]),
    ]
    assert main(["triage", *RULES, str(write(tmp_path, lines))]) == 1
    captured = capsys.readouterr()
    assert [json.loads(line)["id"] for line in captured.out.splitlines()] == [1, [3]]
    errors = [e for e in captured.err.splitlines() if ": line " in e]
    assert [e.split(":")[1].strip() for e in errors] == [
        "line 2",
        "line 3",
        "line 5",
        "line 6",
        "line 7",
    ]
    assert 'field "id": missing' in errors[1] and errors[1].endswith("; skipped")
    assert errors[2] == 'socialcare triage: line 5: field "text": must be a string; skipped'
    assert captured.err.splitlines()[-1] == (
        "socialcare triage: 2 posts classified; 5 unreadable lines"
    )


def test_reads_post_id_as_parse_writes_it_and_names_the_demo_brand(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        json.dumps({"post_id": "p-1", "text": "Lynet router blinker rødt siden i går"}),
        json.dumps({"post_id": "p-2", "id": "p-2", "text": "Lynet er nede"}),
        json.dumps({"post_id": "p-3", "id": "other", "text": "Lynet er nede"}),
    ]
    assert main(["triage", *RULES, str(write(tmp_path, lines))]) == 1
    out, err = capsys.readouterr()
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["p-1", "p-2"]
    assert 'line 3: field "post_id": differs from "id"' in err
    assert "using the demo brand 'Lynet Bredbånd'" in err

    brand = tmp_path / "brand.toml"
    brand.write_text(
        'name = "Acme Net"\nsign_off = "Acme"\nphone = "1"\n'
        'website = "https://acme.dk"\nprivacy_notice_url = "https://acme.dk/privacy"\n'
    )
    assert (
        main(["triage", *RULES, "--brand-file", str(brand), str(write(tmp_path, lines[:1]))]) == 0
    )
    assert "demo brand" not in capsys.readouterr().err


def test_standard_input_and_dash(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv in (["triage", *RULES], ["triage", *RULES, "-"]):
        monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(POSTS[0]) + "\n"))
        assert main(argv) == 0
        assert json.loads(capsys.readouterr().out)["complaint"] is True


def test_brand_any_and_brand_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(
        tmp_path,
        [
            json.dumps({"id": "a", "text": "@Tesco my order never arrived"}),
            json.dumps({"id": "b", "text": "Acme Net er nede igen"}),
            json.dumps({"id": "c", "text": "Lynet er nede igen"}),
        ],
    )
    assert main(["triage", *RULES, "--brand", "any", str(path)]) == 0
    any_mode = [json.loads(line)["complaint"] for line in capsys.readouterr().out.splitlines()]
    assert any_mode == [True, False, False]  # b and c address no account
    assert main(["triage", *RULES, "--brand", "Acme Net", str(path)]) == 0
    named = [json.loads(line)["complaint"] for line in capsys.readouterr().out.splitlines()]
    assert named == [False, True, False]


def test_a_missing_file_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["triage", *RULES, str(tmp_path / "nope.jsonl")]) == 2
    assert "nope.jsonl" in capsys.readouterr().err


def test_the_installed_command_reads_stdin() -> None:
    exe = Path(sys.executable).with_name("socialcare")
    result = subprocess.run(  # noqa: S603
        [str(exe), "triage", *RULES],
        input=json.dumps(POSTS[2]) + "\n{bad\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert json.loads(result.stdout)["complaint"] is True
    assert "line 2" in result.stderr


def test_exports_with_a_bom_bad_bytes_or_broken_emoji_are_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # An Excel/Windows export starts with a BOM; one line is Latin-1, one carries a lone
    # surrogate (half an emoji): all three are classified, none ends the backtest.
    path = tmp_path / "export.jsonl"
    path.write_bytes(
        b'\xef\xbb\xbf{"id": 1, "text": "Lynet er nede"}\n'
        b'{"id": 2, "text": "Lynet nede igen, caf\xe9 wifi virker"}\n'
        b'{"id": 3, "text": "\\ud83d Lynet nede"}\n'
    )
    assert main(["triage", *RULES, str(path)]) == 0
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in rows] == [1, 2, 3] and all(r["complaint"] for r in rows)
    assert "line 2: not UTF-8; bad bytes replaced" in err and "Traceback" not in err


def test_the_installed_command_reads_a_bom_on_stdin() -> None:
    exe = Path(sys.executable).with_name("socialcare")
    result = subprocess.run(  # noqa: S603
        [str(exe), "triage", *RULES],
        input=b'\xef\xbb\xbf{"id": "a", "text": "Lynet er nede"}\n',
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["id"] == "a"


def test_placement_fields_are_read_and_old_lines_read_as_before(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "Forbindelsen falder ud hver aften."  # a 2-star review that never names us
    lines = [
        {"id": "old", "text": text},
        {"id": "nulls", "text": text, "addressed": None, "stars": None},
        {"id": "placed", "text": text, "addressed": True, "stars": 2},
        {"id": "bare", "text": "", "addressed": True, "stars": 1},
    ]
    path = write(tmp_path, [json.dumps(line, ensure_ascii=False) for line in lines])
    assert main(["triage", *RULES, str(path)]) == 0
    out = {row.pop("id"): row for row in map(json.loads, capsys.readouterr().out.splitlines())}
    assert out["old"] == out["nulls"] and not out["old"]["complaint"]
    assert out["placed"]["complaint"]
    assert out["placed"]["reasons"][:2] == ["placement: addressed to us", "stars: 2/5"]
    assert not out["bare"]["complaint"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"addressed": "yes"}, 'field "addressed": must be true or false'),
        ({"addressed": 1}, 'field "addressed": must be true or false'),
        ({"stars": 0}, 'field "stars": must be a whole number from 1 to 5'),
        ({"stars": 4.5}, 'field "stars": must be a whole number from 1 to 5'),
        ({"stars": "5"}, 'field "stars": must be a whole number from 1 to 5'),
        ({"stars": True}, 'field "stars": must be a whole number from 1 to 5'),
    ],
)
def test_bad_placement_is_a_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fields: dict, message: str
) -> None:
    lines = [json.dumps({"id": 1, "text": "Lynet er nede", **fields}), json.dumps(POSTS[0])]
    assert main(["triage", *RULES, str(write(tmp_path, lines))]) == 1
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 1
    assert f"line 1: {message}; skipped" in captured.err
