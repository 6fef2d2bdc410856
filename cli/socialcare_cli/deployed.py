"""What a deployed stack tells the CLI: its Outputs (queue URLs, the secret, the table)."""

from __future__ import annotations

from typing import Any

from socialcare.errors import ConfigError


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
