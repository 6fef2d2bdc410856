"""A local AWS: moto's server on 127.0.0.1, provisioned from template.yaml.

Only the resources the handlers talk to are built (queues, table, secrets, SSM
parameters, SES identity and configuration set), each with the properties the template
gives it, so the demo and the cloud cannot drift apart.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import requests

from socialcare_cli.template import Stack

FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_REGION": "eu-west-1",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def moto_server(port: int | None = None) -> Iterator[str]:
    """Run moto's server on loopback; point boto3 (and Powertools) at it via the env."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # request lines are noise here

    port = port or free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    # moto keeps its backends per process: start from a clean state every time.
    requests.post(f"{endpoint}/moto-api/reset", timeout=10)
    saved = {k: os.environ.get(k) for k in [*FAKE_ENV, "AWS_ENDPOINT_URL"]}
    os.environ.update(FAKE_ENV)
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    try:
        yield endpoint
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def sent_emails(endpoint: str) -> list[dict[str, Any]]:
    """What moto's SES recorded: raw MIME messages ('raw_data', 'destinations')."""
    data = requests.get(f"{endpoint}/moto-api/data.json", timeout=10).json()
    return list(data.get("ses", {}).get("RawMessage", []))


_QUEUE_ATTRS = (
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "DelaySeconds",
    "ReceiveMessageWaitTimeSeconds",
    "SqsManagedSseEnabled",
    "MaximumMessageSize",
)


def provision(stack: Stack, region: str = "eu-west-1") -> Stack:
    sqs = boto3.client("sqs", region_name=region)
    queues = stack.of_type("AWS::SQS::Queue")
    # Dead-letter queues first: the others' RedrivePolicy points at them.
    for logical, res in sorted(
        queues.items(), key=lambda kv: "RedrivePolicy" in kv[1].get("Properties", {})
    ):
        props = res.get("Properties", {})
        name = f"{stack.name}-{logical}"
        attrs: dict[str, Any] = {
            k: str(stack.resolve(props[k])).lower()
            if isinstance(props[k], bool)
            else str(stack.resolve(props[k]))
            for k in _QUEUE_ATTRS
            if k in props
        }
        if "RedrivePolicy" in props:
            attrs["RedrivePolicy"] = json.dumps(stack.resolve(props["RedrivePolicy"]))
        url = sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]  # type: ignore[arg-type]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        stack.physical[logical] = url
        stack.attributes[(logical, "Arn")] = arn["Attributes"]["QueueArn"]
        stack.attributes[(logical, "QueueName")] = name

    dynamodb = boto3.client("dynamodb", region_name=region)
    for logical, res in stack.of_type("AWS::DynamoDB::Table").items():
        props = stack.resolve(res["Properties"])
        name = f"{stack.name}-{logical}"
        dynamodb.create_table(
            TableName=name,
            KeySchema=props["KeySchema"],
            AttributeDefinitions=props["AttributeDefinitions"],
            BillingMode=props["BillingMode"],
        )
        if "TimeToLiveSpecification" in props:
            dynamodb.update_time_to_live(
                TableName=name, TimeToLiveSpecification=props["TimeToLiveSpecification"]
            )
        stack.physical[logical] = name

    secretsmanager = boto3.client("secretsmanager", region_name=region)
    for logical in stack.of_type("AWS::SecretsManager::Secret"):
        out = secretsmanager.create_secret(
            Name=f"{stack.name}-{logical}", SecretString=secrets.token_urlsafe(36)
        )
        stack.physical[logical] = out["ARN"]

    ssm = boto3.client("ssm", region_name=region)
    for logical, res in stack.of_type("AWS::SSM::Parameter").items():
        if not stack.exists(logical):
            continue
        props = stack.resolve(res["Properties"])
        ssm.put_parameter(
            Name=props["Name"], Value=props["Value"], Type=props["Type"], Overwrite=True
        )
        stack.physical[logical] = props["Name"]

    kms = boto3.client("kms", region_name=region)
    for logical, res in stack.of_type("AWS::KMS::Key").items():
        key = kms.create_key(Description=str(res["Properties"].get("Description", logical)))
        stack.physical[logical] = key["KeyMetadata"]["KeyId"]
        stack.attributes[(logical, "Arn")] = key["KeyMetadata"]["Arn"]

    # Function URLs: a placeholder address until something serves them locally
    # (tests and the demo may point the attribute at a local server instead).
    for logical, res in stack.of_type("AWS::Serverless::Function").items():
        if "FunctionUrlConfig" in res.get("Properties", {}):
            stack.attributes.setdefault(
                (f"{logical}Url", "FunctionUrl"),
                f"https://{logical.lower()}.lambda-url.{region}.on.aws/",
            )

    ses = boto3.client("sesv2", region_name=region)
    for logical, res in stack.of_type("AWS::SES::EmailIdentity").items():
        if not stack.exists(logical):
            continue
        identity = stack.resolve(res["Properties"]["EmailIdentity"])
        ses.create_email_identity(EmailIdentity=identity)
        stack.physical[logical] = identity
    for logical in stack.of_type("AWS::SES::ConfigurationSet"):
        name = f"{stack.name}-{logical}".lower()
        ses.create_configuration_set(ConfigurationSetName=name)
        stack.physical[logical] = name
    return stack


def set_secret(stack: Stack, logical: str, value: str, region: str = "eu-west-1") -> None:
    boto3.client("secretsmanager", region_name=region).put_secret_value(
        SecretId=stack.physical[logical], SecretString=value
    )


def publish_stack(stack: Stack, region: str = "eu-west-1") -> None:
    """Make the provisioned stack answer as a deployed one to the commands that take
    `--stack`: a CloudFormation stack of that name whose parameters and outputs are the
    template's (those built locally), holding the template's log groups themselves."""
    for logical in stack.of_type("AWS::Serverless::Function"):
        stack.physical.setdefault(logical, f"{stack.name}-{logical}")  # their log groups
    groups = {
        logical: {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": stack.resolve(res["Properties"]["LogGroupName"]),
                "RetentionInDays": int(stack.resolve(res["Properties"]["RetentionInDays"])),
            },
        }
        for logical, res in stack.of_type("AWS::Logs::LogGroup").items()
    }
    outputs: dict[str, Any] = {}
    for name, output in stack.template.get("Outputs", {}).items():
        if "Condition" in output and not stack.condition(output["Condition"]):
            continue
        value = output["Value"]
        if isinstance(value, dict) and value.get("Ref") in groups:
            outputs[name] = {"Value": value}  # the log group CloudFormation creates here
            continue
        try:
            outputs[name] = {"Value": str(stack.resolve(value))}
        except KeyError:
            continue  # a resource the emulator does not build (functions' ARNs, alarms)
    template = {
        "Parameters": {name: {"Type": "String"} for name in stack.template["Parameters"]},
        "Resources": groups,
        "Outputs": outputs,
    }
    boto3.client("cloudformation", region_name=region).create_stack(
        StackName=stack.name,
        TemplateBody=json.dumps(template),
        Parameters=[
            {"ParameterKey": name, "ParameterValue": stack.parameter(name)}
            for name in stack.template["Parameters"]
        ],
    )
