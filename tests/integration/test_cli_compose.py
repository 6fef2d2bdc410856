"""The commands compose and behave alike: `parse | decide` decides every parsed post, the
brand in use is said, the same failure is worded the same way, AWS commands take
`--region`/`--profile`, progress shows only on a terminal."""

from __future__ import annotations

import io
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from socialcare_cli import progress
from socialcare_cli.main import build_parser, main
from socialcare_cli.template import REPO

SAMPLE = REPO / "cli" / "socialcare_cli" / "sample"
DEMO_BRAND = REPO / "layers" / "socialcare" / "socialcare" / "brand.toml"
EXE = Path(sys.executable).with_name("socialcare")
EVER = "1000000"  # hours: the sample posts are never stale, whatever today is


@pytest.fixture
def crm_db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    assert main(["crm-import", str(SAMPLE / "crm.json"), "--to", url]) == 0
    return url


@pytest.fixture
def other_brand(tmp_path: Path) -> Path:
    path = tmp_path / "acme.toml"
    path.write_text(
        'name = "Acme Fiber"\nsign_off = "Acme"\nphone = "+45 11 11 11 11"\n'
        'website = "https://acme.dk"\nprivacy_notice_url = "https://acme.dk/privatliv"\n',
        encoding="utf-8",
    )
    return path


def pipe(page: Path, *decide_args: str) -> tuple[list[str], list[dict[str, Any]], str]:
    """`socialcare parse --source x PAGE | socialcare decide ...`, as a shell runs it."""
    parse = subprocess.Popen(  # noqa: S603
        [str(EXE), "parse", "--source", "x", str(page)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    decide = subprocess.run(  # noqa: S603
        [str(EXE), "decide", *decide_args],
        stdin=parse.stdout,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert parse.wait(timeout=60) == 0
    parsed = subprocess.run(  # noqa: S603
        [str(EXE), "parse", "--source", "x", str(page)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    ids = [json.loads(line)["post_id"] for line in parsed.stdout.splitlines()]
    assert decide.returncode == 0, decide.stderr
    return ids, [json.loads(line) for line in decide.stdout.splitlines()], decide.stderr


def test_parse_piped_into_decide_decides_every_parsed_post(crm_db: str) -> None:
    page = SAMPLE / "x" / "search-recent-page1.json"
    args = ("--crm", crm_db, "--brand-file", str(DEMO_BRAND), "--max-post-age-hours", EVER)
    ids, rows, err = pipe(page, *args)
    assert len(ids) == 2 and [r["mention_id"] for r in rows] == ids
    assert [(r["reason"], r["customer_id"]) for r in rows] == [
        ("contact", "C-1015"),
        ("no_customer_match", None),
    ]
    assert "using the demo brand 'Lynet Bredbånd'" in err
    assert err.splitlines()[-1] == (
        "socialcare decide: 2 mentions decided (contact 1, no_customer_match 1); 0 unreadable lines"
    )


def test_decide_uses_the_brand_file_given_or_in_the_environment(
    crm_db: str,
    other_brand: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = SAMPLE / "x" / "search-recent-page1.json"
    assert main(["parse", "--source", "x", "--brand-file", str(other_brand), str(body)]) == 0
    lines = capsys.readouterr().out
    for how in ("option", "environment"):
        monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
        args = ["decide", "--crm", crm_db, "--max-post-age-hours", EVER]
        if how == "option":
            args += ["--brand-file", str(other_brand)]
        else:
            monkeypatch.setenv("SOCIALCARE_BRAND_FILE", str(other_brand))
        assert main(args) == 0
        out, err = capsys.readouterr()
        # the posts complain about Lynet, not Acme Fiber
        assert {json.loads(line)["reason"] for line in out.splitlines()} == {"not_complaint"}
        assert "demo brand" not in err, how


def test_a_file_that_cannot_be_read_is_said_the_same_way_everywhere(
    capsys: pytest.CaptureFixture[str],
) -> None:
    missing = "/nonexistent/input.json"
    said = {}
    for argv in (
        ["parse", "--source", "x", missing],
        ["triage", missing],
        ["decide", "--crm", "sqlite:///nowhere.db", missing],
        ["preview", "--brand-file", missing],
    ):
        assert main(argv) == 2
        said[argv[0]] = capsys.readouterr().err.splitlines()[-1].split(": ", 1)[1]
    assert set(said.values()) == {
        f"BadInputError: cannot read {missing}: No such file or directory"
    }, said


def test_an_unknown_email_language_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["preview", "--lang", "fr"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "argument --lang: invalid choice: 'fr'" in err and "'da', 'en'" in err


def test_every_option_of_every_command_has_help() -> None:
    parser = build_parser()
    (commands,) = [a for a in parser._actions if a.dest == "command"]
    missing = [
        f"{name} {'/'.join(action.option_strings) or action.dest}"
        for name, command in commands.choices.items()
        for action in command._actions
        if action.dest != "help" and not action.help
    ]
    assert not missing, missing


@pytest.mark.parametrize(
    "argv",
    [
        ["incident", "status", "--parameter", "/socialcare/incident"],
        ["redrive", "--queue", "mentions", "--stack", "socialcare"],
        ["rotate-key", "--stack", "socialcare"],
        ["export", "--customer-id", "C-1", "--stack", "socialcare"],
    ],
)
def test_aws_commands_say_how_to_give_a_region_and_a_profile(
    argv: list[str],
    aws: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))  # no profile's region
    assert main(argv) == 2
    cmd = argv[0]
    assert capsys.readouterr().err == (
        f"socialcare {cmd}: AWS: no region: give --region, or set AWS_REGION or a "
        "profile's region\n"
    )
    assert main([*argv, "--profile", "nope"]) == 2
    assert "(--profile or AWS_PROFILE" in capsys.readouterr().err

    # with --region, or AWS_REGION as the AWS CLI reads it, the request reaches the
    # emulator: it answers that nothing is there
    assert main([*argv, "--region", "eu-west-1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"socialcare {cmd}: AWS: An error occurred"), err
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith(f"socialcare {cmd}: AWS: An error occurred")


def test_a_profile_gives_the_region(
    aws: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    config = tmp_path / "config"
    config.write_text(
        "[profile ops]\nregion = eu-west-1\n"
        "aws_access_key_id = testing\naws_secret_access_key = testing\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    assert main(["incident", "on", "--parameter", "/s/incident", "--profile", "ops"]) == 0
    assert json.loads(capsys.readouterr().out)["topics"] == ["outage"]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "DELAY_S", 0)
    lines = [f"{n}\n" for n in range(500)]
    for stream, shown in ((io.StringIO(), False), (Terminal(), True)):
        assert list(progress.tracked(lines, stream, "socialcare triage")) == lines
        assert ("socialcare triage" in stream.getvalue()) is shown
        assert ("0/500" in stream.getvalue() and " lines/s" in stream.getvalue()) is shown


CLI_DOC = REPO / "docs" / "cli.md"
EXAMPLE = re.compile(r"```sh\n(socialcare [^\n]+)\n```\n```json\n(.*?)\n```", re.DOTALL)


def test_the_documented_examples_give_the_documented_output(
    crm_db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    examples = EXAMPLE.findall(CLI_DOC.read_text(encoding="utf-8"))
    assert {shlex.split(command)[1] for command, _ in examples} >= {"parse", "triage", "decide"}
    for command, shown in examples:
        argv = shlex.split(command.replace("sqlite:///crm.db", crm_db))[1:]
        assert main(argv) == 0, command
        out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        for line in shown.splitlines():
            assert json.loads(line) in out, (command, line)


def test_every_example_file_is_documented_and_read_without_error(
    crm_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    examples = sorted(p.name for p in (REPO / "docs" / "examples").iterdir())
    doc = CLI_DOC.read_text(encoding="utf-8")
    assert examples and all(f"(examples/{name})" in doc for name in examples), examples
    body = REPO / "docs" / "examples" / "trustpilot-reviews.json"
    assert main(["parse", "--source", "trustpilot", str(body)]) == 0
    mentions = capsys.readouterr().out
    sys_stdin = io.StringIO(mentions)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "stdin", sys_stdin)
        assert main(["decide", "--crm", crm_db, "--max-post-age-hours", EVER]) == 0
    (row,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (row["reason"], row["customer_id"], row["match"]) == ("contact", "C-1003", "email")


def test_a_callback_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "DELAY_S", 0)
    for stream, shown in ((io.StringIO(), False), (Terminal(), True)):
        bar = progress.Bar(stream, "socialcare redrive")
        bar(2, 4)
        bar.close()
        assert ("2/4" in stream.getvalue()) is shown
