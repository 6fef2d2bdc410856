"""`socialcare preflight` without AWS: the repository's own samconfig.toml and demo brand
are refused line by line; a filled-in project passes (its CRM asked over real HTTP)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from socialcare_cli import servers
from socialcare_cli.main import main
from socialcare_cli.samconfig import parse_overrides
from socialcare_cli.template import TEMPLATE
from tests.conftest import CRM_TOKEN, load_json

BRAND = """
name = "Bredbånd Nord"
aliases = ["BNord"]
default_language = "da"
time_zone = "Europe/Copenhagen"
sign_off = "Kundeservice, Bredbånd Nord"
phone = "+45 70 12 34 56"
website = "https://www.bredbaand-nord.dk"
privacy_notice_url = "https://www.bredbaand-nord.dk/privatliv"

[own_accounts]
trustpilot = []
"""
DOMAIN = "bredbaand-nord.dk"


def filled(crm_url: str) -> list[str]:
    return [
        "OutreachMode=shadow",
        "NameMatching=off",
        f"SenderDomain={DOMAIN}",
        f"SenderAddress=kundeservice@{DOMAIN}",
        f"ReplyToAddress=kundeservice@{DOMAIN}",
        f"UnsubscribeBaseUrl=https://www.{DOMAIN}/afmeld",
        f"CrmUrl={crm_url}",
        f"OpsEmail=drift@{DOMAIN}",
        "EnableTrustpilot=true",
        "TrustpilotBusinessUnitId=4f2a1b",
        "PilotCustomers=/socialcare-prod/pilot",
        'SendWindow="Mon-Fri 08:00-16:00"',
    ]


def project(root: Path, overrides: list[str], brand: str = BRAND) -> Path:
    """A checkout: the template, the brand the layer ships, samconfig.toml's prod env."""
    shutil.copy(TEMPLATE, root / "template.yaml")
    layer = root / "layers" / "socialcare" / "socialcare"
    layer.mkdir(parents=True)
    (layer / "brand.toml").write_text(brand)
    lines = ",\n".join(f"  {o!r}" for o in overrides)
    (root / "samconfig.toml").write_text(
        'version = 0.1\n[prod.deploy.parameters]\nstack_name = "socialcare-prod"\n'
        f'region = "eu-west-1"\nparameter_overrides = [\n{lines}\n]\n'
    )
    return root / "template.yaml"


def preflight(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(["preflight", "--no-aws", *args])
    return code, capsys.readouterr().out.splitlines()


def blocked(lines: list[str]) -> list[str]:
    """The `what` of each blocker line, in order."""
    return [line.removeprefix("BLOCKED ").split(":")[0] for line in lines if "BLOCKED" in line]


@pytest.fixture(autouse=True)
def _no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOCIALCARE_CRM_TOKEN", raising=False)


@pytest.fixture
def crm() -> Iterator[str]:
    data = load_json("crm.json")
    with servers.serve(servers.ContractCrm(data["customers"], {}, CRM_TOKEN)) as url:
        yield url


def test_the_fresh_demo_config_lists_every_demo_default(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = preflight(capsys)
    assert code == 1
    assert blocked(lines) == [
        "brand",
        "brand URLs",
        "SenderAddress",
        "ReplyToAddress",
        "OpsEmail",
        "SenderDomain",
        "UnsubscribeBaseUrl",
        "sources",
        "CrmUrl",
        "CRM token",
    ]
    for line in lines[1:-1]:
        assert line.startswith("BLOCKED ") and ". Fix: " in line  # one line, with its fix
    assert "demo brand 'Lynet Bredbånd'" in lines[1]
    assert lines[-1] == "10 blockers: not ready to go live (docs/deploy.md)"


def test_the_prod_environment_is_refused_until_filled_in(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, lines = preflight(capsys, "--config-env", "prod")
    assert code == 1
    assert {"brand", "ReviewAddress", "SenderDomain", "UnsubscribeBaseUrl", "CrmUrl"} <= set(
        blocked(lines)
    )
    assert "samconfig.toml [prod.deploy.parameters]" in "\n".join(lines)


def test_a_filled_in_config_passes_with_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], crm: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOCIALCARE_CRM_TOKEN", CRM_TOKEN)
    template = project(tmp_path, filled(crm))
    code, lines = preflight(capsys, "--config-env", "prod", "--template", str(template))
    assert code == 0, lines
    summary = "\n".join(lines)
    assert "ready to go live:" in summary
    assert f"{DOMAIN}: Easy DKIM, MAIL FROM mail.{DOMAIN}" in summary
    assert f"{crm} answers with the token from SOCIALCARE_CRM_TOKEN" in summary
    assert "Mon-Fri 08:00-16:00 (Europe/Copenhagen)" in summary
    assert "shadow, pilot /socialcare-prod/pilot" in summary


@pytest.mark.parametrize(
    ("change", "what", "says"),
    [
        ({"OutreachMode": "live", "PilotCustomers": None}, "OutreachMode", "without a pilot"),
        ({"SenderAddress": "kundeservice@other.dk"}, "SenderAddress", "is not at SenderDomain"),
        ({"OutreachMode": "review"}, "ReviewAddress", "review mode sends there"),
        ({"UnsubscribeBaseUrl": "http://www.x.dk/afmeld"}, "UnsubscribeBaseUrl", "not https"),
        ({"EnableReplay": "true"}, "EnableReplay", "recorded demo pages"),
        ({"CrmUrl": "http://127.0.0.1:9"}, "CRM", "unreachable"),
        ({"Nonsense": "1"}, "Nonsense", "not a parameter"),
    ],
)
def test_each_unsafe_setting_is_one_blocker(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    crm: str,
    monkeypatch: pytest.MonkeyPatch,
    change: dict[str, str | None],
    what: str,
    says: str,
) -> None:
    monkeypatch.setenv("SOCIALCARE_CRM_TOKEN", CRM_TOKEN)
    overrides = parse_overrides(filled(crm))
    for key, value in change.items():
        overrides.pop(key, None) if value is None else overrides.update({key: value})
    template = project(tmp_path, [f'{k}="{v}"' for k, v in overrides.items()])
    code, lines = preflight(capsys, "--config-env", "prod", "--template", str(template))
    assert code == 1 and blocked(lines) == [what], lines
    assert says in lines[1]


def test_a_token_the_crm_refuses_is_a_blocker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], crm: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOCIALCARE_CRM_TOKEN", "not-the-token")
    template = project(tmp_path, filled(crm))
    code, lines = preflight(capsys, "--config-env", "prod", "--template", str(template))
    assert code == 1 and blocked(lines) == ["CRM"]
    assert "refused the token from SOCIALCARE_CRM_TOKEN" in lines[1]


def test_the_brand_checked_must_be_the_one_the_layer_ships(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], crm: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOCIALCARE_CRM_TOKEN", CRM_TOKEN)
    template = project(tmp_path, filled(crm), brand=BRAND.replace("Nord", "Syd"))
    mine = tmp_path / "brand.toml"
    mine.write_text(BRAND)
    code, lines = preflight(
        capsys, "--config-env", "prod", "--template", str(template), "--brand-file", str(mine)
    )
    assert code == 1 and blocked(lines) == ["brand file"]
    assert "Fix: cp " in lines[1]


def test_a_wrong_time_zone_in_the_brand_is_a_blocker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], crm: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOCIALCARE_CRM_TOKEN", CRM_TOKEN)
    brand = BRAND.replace("Europe/Copenhagen", "Europe/Aarhus")
    template = project(tmp_path, filled(crm), brand=brand)
    code, lines = preflight(capsys, "--config-env", "prod", "--template", str(template))
    assert code == 1 and blocked(lines) == ["SendWindow"] and "Europe/Aarhus" in lines[1]


def test_overrides_are_read_as_sam_reads_them() -> None:
    # Expected values as samcli.cli.types.CfnParameterOverridesType gives them.
    assert parse_overrides(["A=1", 'B="x y"', "C='x y'", "D=x y"]) == {
        "A": "1",
        "B": "x y",
        "C": "x y",
        "D": "x",
    }
    assert parse_overrides('A=1 B="two words"') == {"A": "1", "B": "two words"}
    legacy = 'ParameterKey=A,ParameterValue=1 ParameterKey=B,ParameterValue="x y"'
    assert parse_overrides(legacy) == {"A": "1", "B": "x y"}
