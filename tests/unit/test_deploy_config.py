"""The deploy configuration: samconfig.toml's environments deploy with the template, the
sender domain, pilot and send window are wired as the docs say, every parameter is
documented in docs/deploy.md."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pytest

from socialcare_cli.samconfig import read
from socialcare_cli.template import REPO, load_template

T = load_template()
RES: dict[str, Any] = T["Resources"]
PARAMS: dict[str, Any] = T["Parameters"]
SAMCONFIG = REPO / "samconfig.toml"


def env_of(function: str) -> dict[str, Any]:
    return dict(RES[function]["Properties"]["Environment"]["Variables"])


@pytest.mark.parametrize("env", ["default", "prod"])
def test_each_environment_deploys_with_the_template(env: str) -> None:
    config = read(SAMCONFIG, env)
    assert config.stack_name and config.region
    for name, value in config.overrides.items():
        spec = PARAMS[name]  # KeyError: not a parameter of the template
        if "AllowedValues" in spec:
            assert value in [str(v) for v in spec["AllowedValues"]], name
        if "AllowedPattern" in spec:
            assert re.fullmatch(spec["AllowedPattern"], value), name
    deploy = tomllib.loads(SAMCONFIG.read_text())[env]["deploy"]["parameters"]
    assert deploy["capabilities"] == "CAPABILITY_IAM" and deploy["confirm_changeset"] is True


def test_prod_starts_in_shadow_without_name_matching_and_alarms_someone() -> None:
    prod = read(SAMCONFIG, "prod").overrides
    assert prod["OutreachMode"] == "shadow" and prod["NameMatching"] == "off"
    assert prod["OpsEmail"] and prod["SenderDomain"] and prod["PilotCustomers"]
    assert prod["SendWindow"] == PARAMS["SendWindow"]["Default"]  # quoted: not cut at a space


def test_every_parameter_is_documented_in_deploy_md() -> None:
    doc = (REPO / "docs" / "deploy.md").read_text()
    missing = [name for name in PARAMS if f"`{name}`" not in doc]
    assert missing == []


def test_the_sender_domain_gets_easy_dkim_mail_from_and_dns_outputs() -> None:
    domain = RES["SenderDomainIdentity"]
    assert domain["Condition"] == "HasSenderDomain"
    props = domain["Properties"]
    assert props["EmailIdentity"] == {"Ref": "SenderDomain"}
    assert props["DkimSigningAttributes"] == {"NextSigningKeyLength": "RSA_2048_BIT"}
    assert props["DkimAttributes"] == {"SigningEnabled": True}
    assert props["MailFromAttributes"]["MailFromDomain"] == {
        "Fn::Sub": "${MailFromSubdomain}.${SenderDomain}"
    }
    assert RES["SenderIdentity"]["Condition"] == "NoSenderDomain"  # one or the other
    outputs = T["Outputs"]
    for n in (1, 2, 3):
        record = str(outputs[f"SenderDomainDkimRecord{n}"]["Value"])
        assert f"DkimDNSTokenName{n}" in record and f"DkimDNSTokenValue{n}" in record
    assert "feedback-smtp.${AWS::Region}.amazonses.com" in str(
        outputs["SenderDomainMailFromMxRecord"]["Value"]
    )
    assert "v=spf1 include:amazonses.com" in str(outputs["SenderDomainMailFromSpfRecord"]["Value"])


def test_the_pilot_is_read_by_triage_and_the_mailer_and_nothing_else() -> None:
    assert RES["PilotParameter"]["Properties"]["Name"] == {"Ref": "PilotCustomers"}
    readers = {
        name
        for name, res in RES.items()
        if res["Type"] == "AWS::Serverless::Function" and "PilotCustomers" in str(res)
    }
    assert readers == {"TriageMentionsFunction", "SendOutreachFunction"}
    for function in readers:
        assert env_of(function)["PILOT_PARAMETER"] == {"Ref": "PilotCustomers"}
        grant = [p for p in RES[function]["Properties"]["Policies"] if "HasPilot" in str(p)]
        assert "parameter${PilotCustomers}" in str(grant) and "ssm:GetParameter" in str(grant)


def test_the_send_window_reaches_the_mailer() -> None:
    assert env_of("SendOutreachFunction")["SEND_WINDOW"] == {"Ref": "SendWindow"}


def test_the_unsubscribe_description_says_what_the_code_does() -> None:
    description = PARAMS["UnsubscribeBaseUrl"]["Description"]
    assert "Function URL" in description and "brand website" not in description
    chosen = env_of("SendOutreachFunction")["UNSUBSCRIBE_URL"]["Fn::If"]
    assert chosen == [
        "HasUnsubscribeBase",
        {"Ref": "UnsubscribeBaseUrl"},
        {"Fn::GetAtt": ["UnsubscribeFunctionUrl", "FunctionUrl"]},
    ]


def test_the_docs_run_the_sam_that_make_installs() -> None:
    # `sam` is not on PATH after `make validate`; a bare `sam deploy` in the docs fails.
    bare = re.compile(r"^\s*(sam|.*&& sam) (build|deploy|validate)", re.MULTILINE)
    for doc in (REPO / "README.md", REPO / "docs" / "deploy.md"):
        text = doc.read_text()
        assert ".venv-sam/bin/sam deploy --config-env prod" in text
        assert not bare.findall(text), doc.name
