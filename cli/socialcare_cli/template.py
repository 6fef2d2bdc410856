"""Read template.yaml the way CloudFormation would, enough to build the same resources
locally: parameters with defaults and overrides, Ref/GetAtt/Sub/Join/If, and the
properties of queues, the table, the SES identity, secrets and SSM parameters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
# Local runs (the demo, the tests) send at any hour of the wall clock unless they set
# SendWindow themselves; a deployed stack has the template's default.
LOCAL_DEFAULTS = {"SendWindow": "always"}


try:  # libyaml's parser, when PyYAML has it: the tests and the bench read the template often
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - the same answer, nine times slower
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]


class _CfnLoader(_SafeLoader):
    pass


def _tag(loader: _SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 - a safe loader's subclass


@dataclass
class Stack:
    """A template with its parameters resolved and physical ids for built resources."""

    template: dict[str, Any]
    name: str = "socialcare-local"
    region: str = "eu-west-1"
    account: str = "123456789012"
    overrides: dict[str, str] = field(default_factory=dict)
    physical: dict[str, str] = field(default_factory=dict)  # logical id -> Ref value
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.overrides = {**LOCAL_DEFAULTS, **self.overrides}

    @property
    def resources(self) -> dict[str, Any]:
        return dict(self.template["Resources"])

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == kind}

    def parameter(self, name: str) -> str:
        if name in self.overrides:
            return self.overrides[name]
        spec = self.template["Parameters"][name]
        return str(spec.get("Default", ""))

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template["Conditions"][name]))

    def exists(self, logical_id: str) -> bool:
        """Whether CloudFormation would create the resource (its Condition, if any)."""
        condition = self.resources[logical_id].get("Condition")
        return condition is None or self.condition(condition)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1:
            return {k: self.resolve(v) for k, v in value.items()}
        ((key, arg),) = value.items()
        if key == "Ref":
            return self._ref(arg)
        if key == "Fn::GetAtt":
            return self.attributes[(arg[0], arg[1])]
        if key == "Fn::Sub":
            return self._sub(arg)
        if key == "Fn::Join":
            return arg[0].join(str(x) for x in self.resolve(arg[1]) if x is not None)
        if key == "Fn::If":
            return self.resolve(arg[1] if self.condition(arg[0]) else arg[2])
        if key == "Fn::Equals":
            left, right = self.resolve(arg)
            return left == right
        if key == "Fn::Not":
            return not self.resolve(arg[0])
        if key == "Fn::Or":
            return any(self.resolve(v) for v in arg)
        if key in ("Fn::Condition", "Condition"):  # !Condition, in short and long form
            return self.condition(arg)
        return {key: self.resolve(arg)}

    def _ref(self, name: str) -> str:
        pseudo = {
            "AWS::StackName": self.name,
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::Partition": "aws",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.template.get("Parameters", {}):
            return self.parameter(name)
        if name in self.physical:
            return self.physical[name]
        raise KeyError(f"{name} is not built locally")

    def _sub(self, arg: Any) -> str:
        text, names = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def one(match: re.Match[str]) -> str:
            ref = match.group(1)
            if ref in names:
                return str(names[ref])
            if "." in ref:
                logical, attr = ref.split(".", 1)
                return self.attributes[(logical, attr)]
            return str(self._ref(ref))

        return re.sub(r"\$\{([^}!]+)\}", one, text)

    def function_environment(self, logical_id: str) -> dict[str, str]:
        """The environment Lambda would give this function: Globals, then its own."""
        glob = self.template.get("Globals", {}).get("Function", {})
        own = self.resources[logical_id]["Properties"]
        env: dict[str, Any] = {}
        for props in (glob, own):
            env.update(props.get("Environment", {}).get("Variables", {}))
        return {k: str(self.resolve(v)) for k, v in env.items()}

    def sqs_event(self, logical_id: str) -> tuple[str, dict[str, Any]]:
        """(queue logical id, event properties) of the function's SQS event source."""
        for event in self.resources[logical_id]["Properties"].get("Events", {}).values():
            if event["Type"] == "SQS":
                return event["Properties"]["Queue"]["Fn::GetAtt"][0], event["Properties"]
        raise KeyError(f"{logical_id} has no SQS event")
