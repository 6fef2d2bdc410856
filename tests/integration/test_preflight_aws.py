"""`socialcare preflight` with AWS credentials, on moto's server: the stack provisioned from
template.yaml with the project's own parameters; only the CloudFormation lookup is local
(moto cannot deploy a SAM template). SES's account API is not in moto: MiniStack's is
exercised by tests/e2e."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from socialcare_cli import cmd_preflight, deployed, lambda_local, local_aws, preflight, servers
from socialcare_cli.main import main
from socialcare_cli.samconfig import parse_overrides
from socialcare_cli.template import Stack, load_template
from tests.conftest import CRM_TOKEN, HASH_KEY
from tests.unit.test_preflight import BRAND, DOMAIN, filled, project


class Provisioned(deployed.DeployedStack):
    """The locally provisioned stack as CloudFormation would describe it."""

    def __init__(self, stack: Stack) -> None:
        outputs = {
            "OutreachModeParameterName": stack.physical["OutreachModeParameter"],
            "PilotParameterName": stack.physical.get("PilotParameter", ""),
            "UnsubscribeUrl": "https://unsubscribe.lambda-url.eu-west-1.on.aws/",
        }
        super().__init__(name=stack.name, outputs={k: v for k, v in outputs.items() if v})
        self.physical = stack.physical

    def resource(self, logical_id: str) -> str:
        return self.physical[logical_id]


@pytest.fixture
def setup(
    aws: str, tmp_path: Path, crm: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Stack]:
    overrides = {**parse_overrides(filled(crm[1])), "OutreachMode": "live", "PilotCustomers": ""}
    template = project(tmp_path, [f'{k}="{v}"' for k, v in overrides.items()])
    stack = Stack(load_template(), name="socialcare-prod", overrides=overrides)
    local_aws.provision(stack)
    local_aws.set_secret(stack, "HashKeySecret", HASH_KEY)
    local_aws.set_secret(stack, "CrmTokenSecret", CRM_TOKEN)
    monkeypatch.setattr(cmd_preflight.deployed, "describe", lambda *_: Provisioned(stack))
    monkeypatch.delenv("SOCIALCARE_CRM_TOKEN", raising=False)  # the secret's token is used
    # The company's proxy: https://www.<domain>/afmeld reaches the Unsubscribe function.
    brand_file = template.parent / "layers/socialcare/socialcare/brand.toml"
    handler = lambda_local.load_handler(
        stack, "UnsubscribeFunction", {"SOCIALCARE_BRAND_FILE": str(brand_file)}
    )[1]
    with servers.serve(lambda_local.function_url_route(handler)) as local:
        real_get = requests.get
        site = f"https://www.{DOMAIN}"
        monkeypatch.setattr(
            preflight.requests,
            "get",
            lambda url, **kw: real_get(url.replace(site, local), **kw),
        )
        yield template, stack


def run(capsys: pytest.CaptureFixture[str], template: Path) -> tuple[int, list[str]]:
    code = main(["preflight", "--config-env", "prod", "--template", str(template)])
    lines = capsys.readouterr().out.splitlines()
    return code, [line.removeprefix("BLOCKED ") for line in lines if line.startswith("BLOCKED")]


def test_the_deployed_stack_is_checked(
    setup: tuple[Path, Stack], capsys: pytest.CaptureFixture[str]
) -> None:
    template, stack = setup
    code, blockers = run(capsys, template)
    assert code == 1
    what = [b.split(":")[0] for b in blockers]
    assert what == [
        "SES account",  # moto has no GetAccount: not readable is a blocker too
        f"SES identity {DOMAIN}",  # created, DNS records not published yet
        f"DKIM for {DOMAIN}",
        f"MAIL FROM {'mail.' + DOMAIN}",
        "TrustpilotSourceSecret",
        "OutreachMode",
    ]
    trustpilot = next(b for b in blockers if b.startswith("TrustpilotSourceSecret"))
    arn = stack.physical["TrustpilotSourceSecret"]
    assert f"aws secretsmanager put-secret-value --secret-id {arn}" in trustpilot
    assert "SenderDomainDkimRecord1-3" in blockers[2]


def test_a_review_period_allows_live_and_filled_secrets_pass(
    setup: tuple[Path, Stack], capsys: pytest.CaptureFixture[str]
) -> None:
    template, stack = setup
    ssm, mode = boto3.client("ssm"), stack.physical["OutreachModeParameter"]
    for value in ("review", "live"):  # agents read the e-mails for a while, then live
        ssm.put_parameter(Name=mode, Value=value, Type="String", Overwrite=True)
    local_aws.set_secret(
        stack,
        "TrustpilotSourceSecret",
        '{"api_key": "k", "api_secret": "s", "username": "", "password": ""}',
    )
    _, blockers = run(capsys, template)
    assert not [b for b in blockers if b.startswith(("OutreachMode", "Trustpilot"))]


def test_a_wrong_crm_token_in_the_secret_and_a_misrouted_unsubscribe_link(
    setup: tuple[Path, Stack], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    template, stack = setup
    local_aws.set_secret(stack, "CrmTokenSecret", "the generated placeholder")
    monkeypatch.setattr(preflight.requests, "get", lambda url, **kw: _NotFound())
    _, blockers = run(capsys, template)
    crm = next(b for b in blockers if b.startswith("CRM:"))
    assert "refused the token from CrmTokenSecret" in crm
    assert f"--secret-id {stack.physical['CrmTokenSecret']}" in crm
    route = next(b for b in blockers if b.startswith("UnsubscribeBaseUrl"))
    assert "does not reach the Unsubscribe function (HTTP 404)" in route
    assert "route it to https://unsubscribe.lambda-url" in route


def test_a_pilot_list_that_is_not_one_is_a_blocker(aws: str) -> None:
    overrides = parse_overrides(filled("http://127.0.0.1:1"))
    stack = Stack(load_template(), name="socialcare-pilot", overrides=overrides)
    local_aws.provision(stack)  # the stack creates the pilot's parameter, empty
    ssm, name = boto3.client("ssm"), overrides["PilotCustomers"]
    cfg = preflight.Config("prod", "samconfig.toml", stack.name, stack.overrides, _brand(), "b")
    check = preflight.Aws(boto3.Session(), Provisioned(stack))
    report = preflight.Report()
    check.check_pilot(cfg, report)
    assert report.blockers == []
    assert ("pilot", f"{name}: 0 entries, nobody e-mailed") in report.facts
    ssm.put_parameter(Name=name, Value="[]", Type="String", Overwrite=True)
    check.check_pilot(cfg, report)
    [blocker] = report.blockers
    assert blocker.what == "pilot" and "socialcare pilot clear" in blocker.problem


class _NotFound:
    status_code = 404
    text = "<html>Not found</html>"


def _brand() -> Any:
    import tomllib

    from socialcare.brand import Brand

    return Brand.model_validate(tomllib.loads(BRAND))
