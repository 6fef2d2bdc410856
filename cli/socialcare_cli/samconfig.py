"""samconfig.toml as `sam deploy --config-env NAME` reads it: the stack, the region and the
parameter overrides, over the template's defaults."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from socialcare.errors import ConfigError

# SAM's own reading of overrides (samcli.cli.types.CfnParameterOverridesType): Key=Value
# or ParameterKey=Key,ParameterValue=Value; a value is quoted ("..." or '...') or runs to
# the next space, so `SendWindow=Mon-Fri 08:00-16:00` would deploy just "Mon-Fri".
_KEY = r"""([A-Za-z0-9"']+)"""
_VALUE = r""""(?:\\.|[^"\\]+)*"|'(?:\\.|[^'\\]+)*'|(?:\\.|[^ "\\]+)+"""
_PATTERNS = [
    re.compile(rf"(?:ParameterKey={_KEY},ParameterValue=({_VALUE}))"),
    re.compile(rf"(?: {_KEY}=({_VALUE}))"),
]


def _unquote(text: str) -> str:
    return text[1:-1] if len(text) > 1 and text[0] == text[-1] and text[0] in "\"'" else text


@dataclass(frozen=True)
class DeployConfig:
    env: str
    path: Path
    stack_name: str
    region: str | None
    overrides: dict[str, str]

    @property
    def section(self) -> str:
        """Where a parameter is set, for messages: the file and its table."""
        return f"{self.path.name} [{self.env}.deploy.parameters]"


def parse_overrides(value: str | list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in [value] if isinstance(value, str) else value:
        text = " " + item.strip()
        for pattern in _PATTERNS:
            found = pattern.findall(text)
            if found:
                out.update({_unquote(k): _unquote(v) for k, v in found})
                break
    return out


def read(path: Path, env: str) -> DeployConfig:
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    if env not in data:
        known = ", ".join(k for k, v in data.items() if isinstance(v, dict)) or "none"
        raise ConfigError(f"{path.name} has no environment {env!r} (it has: {known})")
    merged: dict[str, Any] = {
        **data[env].get("global", {}).get("parameters", {}),
        **data[env].get("deploy", {}).get("parameters", {}),
    }
    if not merged.get("stack_name"):
        raise ConfigError(f"{path.name} [{env}] names no stack_name")
    return DeployConfig(
        env=env,
        path=path,
        stack_name=str(merged["stack_name"]),
        region=merged.get("region"),
        overrides=parse_overrides(merged.get("parameter_overrides", "")),
    )
