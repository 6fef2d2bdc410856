"""What a deployed stack tells the local commands, read through CloudFormation: its
outputs and the physical ids of its resources."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from socialcare.errors import ConfigError


@dataclass
class DeployedStack:
    name: str
    outputs: dict[str, str] = field(default_factory=dict)
    cloudformation: Any = None

    def resource(self, logical_id: str) -> str:
        """The physical id (an ARN, a URL, a name) of one of the stack's resources."""
        found = self.cloudformation.describe_stack_resource(
            StackName=self.name, LogicalResourceId=logical_id
        )
        return str(found["StackResourceDetail"]["PhysicalResourceId"])


def describe(name: str, cloudformation: Any = None) -> DeployedStack | None:
    """The stack, or None when it does not exist (not deployed yet, or another region)."""
    import boto3

    cfn = cloudformation or boto3.client("cloudformation")
    try:
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise
    return DeployedStack(
        name=name,
        outputs={o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])},
        cloudformation=cfn,
    )


def stack_outputs(stack: str, wanted: tuple[str, ...], cloudformation: Any = None) -> list[str]:
    """The values of the outputs `wanted`, in order; ConfigError names any missing."""
    import boto3

    cfn = cloudformation or boto3.client("cloudformation")
    outputs = {
        o["OutputKey"]: o["OutputValue"]
        for o in cfn.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    }
    missing = [key for key in wanted if key not in outputs]
    if missing:
        raise ConfigError(f"stack {stack} has no output {', '.join(missing)}")
    return [outputs[key] for key in wanted]


def stack_parameter(stack: str, name: str, cloudformation: Any) -> str | None:
    """A parameter's value as deployed (None when the stack has no such parameter)."""
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    values = {p["ParameterKey"]: p.get("ParameterValue") for p in described.get("Parameters", [])}
    return values.get(name)


def stack_log_groups(stack: str, cloudformation: Any) -> list[str]:
    """The names of the stack's log groups: every function's, and the requests log."""
    pages = cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack)
    return sorted(
        r["PhysicalResourceId"]
        for page in pages
        for r in page["StackResourceSummaries"]
        if r["ResourceType"] == "AWS::Logs::LogGroup" and r.get("PhysicalResourceId")
    )
