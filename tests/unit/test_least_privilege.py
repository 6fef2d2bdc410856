"""template.yaml grants each function what its code uses, and keeps the durable data.

The deploy proof (make e2e) runs every function under its own role; MiniStack does not
evaluate `dynamodb:LeadingKeys` or `ses:FromAddress` (docs/testing.md, emulator gaps), so these
tests are where those conditions are held.
"""

from __future__ import annotations

from typing import Any

import pytest

from socialcare_cli.template import load_template

T = load_template()
RES: dict[str, Any] = T["Resources"]
FUNCTIONS = {k: v for k, v in RES.items() if v["Type"] == "AWS::Serverless::Function"}

# What each function's code calls on the state table, on which kinds of key.
TABLE_ACCESS: dict[str, dict[str, set[str]]] = {
    "FetchMentionsFunction": {
        "dynamodb:GetItem": {"cursor#*", "pause#*"},
        "dynamodb:PutItem": {"cursor#*", "pause#*"},
    },
    "TriageMentionsFunction": {  # seen#, decided#: one decision per post and fetch
        "dynamodb:GetItem": {"optout#*", "person#*", "seen#*", "decided#*"},
        "dynamodb:BatchGetItem": {"optout#*", "person#*"},  # policy.check's reads
        "dynamodb:PutItem": {"seen#*", "optout#*", "decided#*"},
        "dynamodb:UpdateItem": {"optout#*", "seen#*", "decided#*"},
        "dynamodb:DeleteItem": {"optout#*", "seen#*", "decided#*"},
    },
    "SendOutreachFunction": {
        "dynamodb:GetItem": {"person#*", "idem#*", "optout#*"},
        "dynamodb:PutItem": {"person#*", "idem#*", "optout#*"},
        "dynamodb:DeleteItem": {"person#*", "idem#*", "optout#*"},
        "dynamodb:UpdateItem": {"person#*", "rate#*", "idem#*", "optout#*"},
    },
    "UnsubscribeFunction": {
        "dynamodb:PutItem": {"optout#*"},
        "dynamodb:UpdateItem": {"optout#*"},
    },
    "EmailEventsFunction": {
        "dynamodb:PutItem": {"optout#*"},
        "dynamodb:UpdateItem": {"optout#*"},
    },
    "ReceiveWebhookFunction": {},
    "IncidentSwitchFunction": {},
    "SendDigestFunction": {},
    "MeasureOutcomeFunction": {},
    "MarkWrongFunction": {"dynamodb:PutItem": {"wrong#*"}},
    # The review hold on the per-person key: read, Approve moves it, Reject deletes it.
    "ReviewFunction": {
        "dynamodb:GetItem": {"person#*"},
        "dynamodb:UpdateItem": {"person#*"},
        "dynamodb:DeleteItem": {"person#*"},
    },
}


def statements(function: str) -> list[dict[str, Any]]:
    out = []
    for policy in FUNCTIONS[function]["Properties"].get("Policies", []):
        if isinstance(policy, dict) and "Statement" in policy:
            out += policy["Statement"]
    return out


def policy_templates(function: str) -> list[tuple[str, Any]]:
    """SAM policy templates, with those under `!If [cond, template, NoValue]` named."""
    out: list[tuple[str, Any]] = []
    for policy in FUNCTIONS[function]["Properties"].get("Policies", []):
        if isinstance(policy, dict) and "Fn::If" in policy:
            condition, then, _ = policy["Fn::If"]
            out += [(f"{name}?{condition}", args) for name, args in then.items()]
        elif isinstance(policy, dict) and "Statement" not in policy:
            out += list(policy.items())
    return out


def table_grants(function: str) -> dict[str, set[str]]:
    grants: dict[str, set[str]] = {}
    for statement in statements(function):
        actions = statement["Action"]
        actions = [actions] if isinstance(actions, str) else actions
        if not any(a.startswith("dynamodb:") for a in actions):
            continue
        assert statement["Resource"] == {"Fn::GetAtt": ["StateTable", "Arn"]}
        keys = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
        for action in actions:
            grants.setdefault(action, set()).update(keys)
    return grants


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_each_function_gets_only_the_table_actions_and_keys_it_uses(function: str) -> None:
    assert table_grants(function) == TABLE_ACCESS[function]
    crud = [name for name, _ in policy_templates(function) if name.startswith("DynamoDB")]
    assert not crud, crud  # no DynamoDBCrudPolicy: it grants Scan, BatchWrite, DeleteItem


@pytest.mark.parametrize("function", ["UnsubscribeFunction", "EmailEventsFunction"])
def test_public_and_ses_event_functions_write_opt_outs_only(function: str) -> None:
    grants = table_grants(function)
    assert set(grants) <= {"dynamodb:PutItem", "dynamodb:UpdateItem"}
    assert all(keys == {"optout#*"} for keys in grants.values())


def test_no_statement_allows_a_wildcard_action_or_the_whole_table_api() -> None:
    for function in FUNCTIONS:
        for statement in statements(function):
            actions = statement["Action"]
            actions = [actions] if isinstance(actions, str) else actions
            assert not any(a.endswith("*") for a in actions), (function, actions)
            assert not {"dynamodb:Scan", "dynamodb:Query", "dynamodb:BatchWriteItem"} & set(actions)


@pytest.mark.parametrize(
    ("function", "parameters"),
    [
        ("TriageMentionsFunction", {"incident": ["ssm:GetParameter"]}),
        ("SendOutreachFunction", {"outreach-mode": ["ssm:GetParameter"]}),
        ("IncidentSwitchFunction", {"incident": ["ssm:GetParameter", "ssm:PutParameter"]}),
    ],
)
def test_ssm_reads_its_own_parameter_only(function: str, parameters: dict[str, list[str]]) -> None:
    found = {}
    for statement in statements(function):
        actions = statement["Action"]
        actions = [actions] if isinstance(actions, str) else actions
        if any(a.startswith("ssm:") for a in actions):
            found[statement["Resource"]["Fn::Sub"].rsplit("/", 1)[1]] = actions
    assert found == parameters
    assert not any(n.startswith("SSM") for n, _ in policy_templates(function))  # Describe on *


def test_no_inline_statement_has_a_wildcard_resource() -> None:
    for function in FUNCTIONS:
        for statement in statements(function):
            resources = statement["Resource"]
            resources = resources if isinstance(resources, list) else [resources]
            assert "*" not in resources and not any(str(r).endswith(":*") for r in resources)


@pytest.mark.parametrize("function", ["SendOutreachFunction", "SendDigestFunction"])
def test_ses_send_is_scoped_to_the_sender_identity_and_configuration_set(function: str) -> None:
    (statement,) = [s for s in statements(function) if "ses:" in str(s["Action"])]
    assert statement["Action"] == "ses:SendEmail"
    resources = [str(r) for r in statement["Resource"]]
    assert not any(r.endswith("identity/*") or r == "*" for r in resources)
    assert any("identity/${SenderAddress}" in r for r in resources)
    assert any("identity/${Domain}" in r and "SenderAddress" in r for r in resources)
    # The customers' e-mails go through the configuration set (bounces -> opt-outs); the
    # agents' digest does not.
    sets = any("configuration-set/${EmailConfigurationSet}" in r for r in resources)
    assert sets == (function == "SendOutreachFunction")
    condition = statement["Condition"]["StringEquals"]["ses:FromAddress"]
    assert condition == {"Ref": "SenderAddress"}
    sends = [f for f in FUNCTIONS if any("ses:" in str(s["Action"]) for s in statements(f))]
    assert sends == ["SendOutreachFunction", "SendDigestFunction"]


SOURCE_SECRETS = {
    "XSourceSecret": "XEnabled",
    "BlueskySourceSecret": "BlueskyEnabled",
    "MastodonSourceSecret": "MastodonEnabled",
    "TrustpilotSourceSecret": "TrustpilotEnabled",
    "RedditSourceSecret": "RedditEnabled",
    "MetaSourceSecret": "MetaEnabled",
    "ThreadsSourceSecret": "ThreadsEnabled",
    "GoogleSourceSecret": "GoogleEnabled",
}


# A composite CrmKind's help desk credential: read only while the kind is a composite.
CONDITIONAL_SECRETS = {**SOURCE_SECRETS, "HelpDeskTokenSecret": "HelpDeskEnabled"}


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_a_source_secret_is_readable_only_while_its_source_is_enabled(function: str) -> None:
    for name, args in policy_templates(function):
        if not name.startswith("AWSSecretsManagerGetSecretValuePolicy"):
            continue
        secret = args["SecretArn"]["Ref"]
        if secret in CONDITIONAL_SECRETS:
            assert name.endswith(f"?{CONDITIONAL_SECRETS[secret]}"), (function, secret)
        else:
            assert secret in {"HashKeySecret", "CrmTokenSecret"} and "?" not in name
    assert T["Conditions"]["MetaEnabled"] == {
        "Fn::Or": [{"Fn::Condition": "FacebookEnabled"}, {"Fn::Condition": "InstagramEnabled"}]
    }


def test_only_the_functions_that_ask_the_crm_read_its_credentials() -> None:
    for secret in ("CrmTokenSecret", "HelpDeskTokenSecret"):
        readers = sorted(
            f
            for f in FUNCTIONS
            for name, args in policy_templates(f)
            if name.startswith("AWSSecretsManager") and args["SecretArn"] == {"Ref": secret}
        )
        assert readers == [
            "MeasureOutcomeFunction",
            "SendOutreachFunction",
            "TriageMentionsFunction",
        ], secret
    assert RES["HelpDeskTokenSecret"]["Condition"] == "HelpDeskEnabled"


def test_only_the_functions_that_hash_read_the_hash_key() -> None:
    readers = sorted(
        f
        for f in FUNCTIONS
        for name, args in policy_templates(f)
        if name.startswith("AWSSecretsManager") and args["SecretArn"] == {"Ref": "HashKeySecret"}
    )
    assert readers == [
        "EmailEventsFunction",
        "FetchMentionsFunction",  # keyed cursor digests
        "MarkWrongFunction",  # verifies the digest's links
        "SendDigestFunction",  # signs them
        "SendOutreachFunction",
        "TriageMentionsFunction",
        "UnsubscribeFunction",
    ]


@pytest.mark.parametrize("resource", ["StateTable", "HashKeySecret"])
def test_the_register_and_its_key_outlive_the_stack(resource: str) -> None:
    assert RES[resource]["DeletionPolicy"] == "Retain"
    assert RES[resource]["UpdateReplacePolicy"] == "Retain"


def test_every_table_is_retained_with_point_in_time_recovery() -> None:
    tables = {k: v for k, v in RES.items() if v["Type"] == "AWS::DynamoDB::Table"}
    assert tables
    for table in tables.values():
        assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
        props = table["Properties"]
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert props["DeletionProtectionEnabled"] is True


def test_public_function_urls_are_rate_limited_by_reserved_concurrency() -> None:
    public = [f for f, v in FUNCTIONS.items() if "FunctionUrlConfig" in v["Properties"]]
    assert sorted(public) == [
        "MarkWrongFunction",
        "ReceiveWebhookFunction",
        "ReviewFunction",
        "UnsubscribeFunction",
    ]
    for function in public:
        assert 1 <= FUNCTIONS[function]["Properties"]["ReservedConcurrentExecutions"] <= 5


def kms_grants() -> dict[str, list[tuple[str, Any]]]:
    grants: dict[str, list[tuple[str, Any]]] = {}
    for function in FUNCTIONS:
        for statement in statements(function):
            actions = statement["Action"]
            for action in [actions] if isinstance(actions, str) else actions:
                if action.startswith("kms:"):
                    grants.setdefault(function, []).append((action, statement["Resource"]))
    return grants


def test_review_links_are_sealed_by_the_mailer_and_opened_by_the_review_function_only() -> None:
    key = {"Fn::GetAtt": ["ReviewLinkKey", "Arn"]}
    assert kms_grants() == {
        "SendOutreachFunction": [("kms:Encrypt", key)],
        "ReviewFunction": [("kms:Decrypt", key)],
    }
    assert RES["ReviewLinkKey"]["Properties"]["EnableKeyRotation"] is True
    review = FUNCTIONS["ReviewFunction"]["Properties"]
    # No hash key, no CRM token, no SES: the sealed request carries its hashes, the
    # mailer sends.
    assert [name for name, _ in policy_templates("ReviewFunction")] == ["SQSSendMessagePolicy"]
    assert review["Environment"]["Variables"]["REVIEW_KEY_ID"] == key
