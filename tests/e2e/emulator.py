"""The end-to-end test's tools: `sam build`, MiniStack on 127.0.0.1, `sam deploy`.

MiniStack (a local AWS emulator, PyPI `ministack`) runs Python Lambda handlers as local
processes and drives them from SQS event source mappings, so the template deployed here
runs as it would in an account. Both tools live in their own virtualenvs (made by
`make e2e`); the test talks to them over HTTP and the command line only.

What MiniStack cannot carry is adapted in the *deployed copy* of the built template
(`ADAPTATIONS`, each with its reason); template.yaml itself is never changed for it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import requests
import yaml

from socialcare_cli.local_aws import free_port

REPO = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"
# Root credentials of MiniStack's default account (000000000000) when AUTH=true.
ROOT_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}


@dataclass(frozen=True)
class Tools:
    sam: Path
    ministack: Path
    python313_dir: Path


def find_tools() -> Tools | str:
    """The tool binaries (env overrides, else the venvs `make e2e` creates), or why not."""
    sam = Path(os.environ.get("SOCIALCARE_E2E_SAM", REPO / ".venv-sam/bin/sam"))
    ministack = Path(
        os.environ.get("SOCIALCARE_E2E_MINISTACK", REPO / ".venv-ministack/bin/ministack")
    )
    python313 = shutil.which("python3.13")
    missing = [str(p) for p in (sam, ministack) if not p.exists()]
    if not python313:
        missing.append("python3.13 on PATH (sam build needs the runtime's interpreter)")
    if missing:
        return "e2e tools missing (run `make e2e`): " + ", ".join(missing)
    # The handlers run on MiniStack's interpreter: the layer's wheels are built for 3.13.
    version = subprocess.run(  # noqa: S603 - our own tool paths, no shell
        [str(ministack.parent / "python"), "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if version != "(3, 13)":
        return f"MiniStack's venv runs Python {version}; the Lambda runtime is python3.13"
    return Tools(sam, ministack, Path(str(python313)).parent)


def _run(cmd: list[str], env: dict[str, str], what: str, cwd: Path = REPO) -> str:
    proc = subprocess.run(  # noqa: S603 - our own tool paths, no shell
        cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr)[-4000:]
        raise RuntimeError(f"{what} failed ({proc.returncode}):\n{tail}")
    return proc.stdout


def sam_env(tools: Tools, **extra: str) -> dict[str, str]:
    env = {
        "PATH": f"{tools.python313_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "SAM_CLI_TELEMETRY": "0",
    }
    return {**env, **extra}


def sam_build(tools: Tools, template: Path, out: Path, config: Path) -> Path:
    """Build for x86_64 (this machine; arm64 wheels cannot load here) with SAM's own cache.

    The build and cache dirs are the e2e's own, so `sam build --use-container` (which
    wipes .aws-sam/build before failing without Docker) cannot take them down.
    """
    cmd = [
        str(tools.sam), "build",
        "--template-file", str(template),
        "--base-dir", str(REPO),  # CodeUri paths stay relative to the repo, also for a copy
        "--build-dir", str(out / "build"),
        "--cache-dir", str(out / "cache"),
        "--cached",
        "--config-file", str(config),  # never a developer's samconfig.toml
        "--parameter-overrides", "Architecture=x86_64",
    ]  # fmt: skip
    _run(cmd, sam_env(tools), "sam build")
    return out / "build" / "template.yaml"


def _secret_ref_to_arn(template: dict[str, Any]) -> int:
    secrets = {
        name for name, res in template["Resources"].items()
        if res.get("Type") == "AWS::SecretsManager::Secret"
    }  # fmt: skip
    count = 0

    def walk(value: Any) -> Any:
        nonlocal count
        if isinstance(value, dict):
            if set(value) == {"Ref"} and value["Ref"] in secrets:
                count += 1
                return {"Fn::GetAtt": [value["Ref"], "Id"]}
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    template["Resources"] = walk(template["Resources"])
    return count


def _ses_send_resource_to_any(template: dict[str, Any]) -> int:
    count = 0
    for res in template["Resources"].values():
        for policy in (res.get("Properties") or {}).get("Policies") or []:
            statements = policy.get("Statement", []) if isinstance(policy, dict) else []
            for statement in statements:
                actions = statement.get("Action", [])
                actions = [actions] if isinstance(actions, str) else actions
                if any(str(a).startswith("ses:Send") for a in actions):
                    statement["Resource"] = "*"
                    statement.pop("Condition", None)  # ses:FromAddress is not resolved
                    count += 1
    return count


# What MiniStack 1.5.33 does differently from AWS, and what the deployed copy does about
# it. Each entry: (name, why, adapt). `adapt` returns how many places it changed.
ADAPTATIONS: list[tuple[str, str, Callable[[dict[str, Any]], int]]] = [
    (
        "secret-ref-is-arn",
        "Ref of an AWS::SecretsManager::Secret returns its name on MiniStack but its ARN "
        "on CloudFormation, so the SAM policy templates would grant the name and IAM "
        "enforcement would deny GetSecretValue. The copy uses Fn::GetAtt <Secret>.Id, "
        "which CloudFormation documents as the same ARN.",
        _secret_ref_to_arn,
    ),
    (
        "ses-send-resource",
        "MiniStack authorizes SES v2 SendEmail against resource '*' and resolves no "
        "ses:FromAddress; AWS authorizes it against the sender identity and "
        "configuration-set ARNs the template names, with that From condition. The copy "
        "widens that one statement to '*' without the condition; the SES scoping is "
        "checked by tests/unit/test_least_privilege.py, not executed here.",
        _ses_send_resource_to_any,
    ),
]


def adapt_for_ministack(built: Path) -> Path:
    """Write the deployed copy of the built template next to it (CodeUris stay valid)."""
    template = yaml.safe_load(built.read_text())  # sam build writes long-form intrinsics
    for name, _, adapt in ADAPTATIONS:
        if adapt(template) == 0:
            raise AssertionError(f"adaptation {name!r} found nothing to change: still needed?")
    out = built.with_name("template.ministack.json")
    out.write_text(json.dumps(template, indent=1))
    return out


@contextmanager
def ministack(tools: Tools, workdir: Path) -> Iterator[str]:
    """MiniStack on 127.0.0.1:<free port> with IAM enforcement; yields the endpoint.

    Its handler processes inherit this environment, so it is built from scratch: nothing
    from the test's own environment (e.g. a SOCIALCARE_* override) leaks into them.
    """
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "TMPDIR": str(workdir),  # unpacked functions and layers, the pid file
        "BIND_HOST": "127.0.0.1",  # it defaults to 0.0.0.0
        "GATEWAY_PORT": str(port),
        "IOT_MTLS_ENABLED": "0",  # else an MQTT listener binds 0.0.0.0:8883
        "SFTP_ENABLED": "0",
        "SFTP_HOST": "127.0.0.1",
        "AUTH": "true",  # enforce each function role's IAM policies, as in an account
        "MINISTACK_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "LOG_LEVEL": "WARNING",
    }
    endpoint = f"http://127.0.0.1:{port}"
    with (workdir / "ministack.log").open("w") as log:
        proc = subprocess.Popen(  # noqa: S603 - our own tool path, no shell
            [str(tools.ministack)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: handler workers included
        )
    try:
        wait_for(
            lambda: proc.poll() is None and _ready(endpoint),
            timeout_s=60,
            what=f"MiniStack ready (log: {workdir / 'ministack.log'})",
            give_up=lambda: proc.poll() is not None,
        )
        yield endpoint
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # the group we started, nothing else
            proc.wait(timeout=15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def _ready(endpoint: str) -> bool:
    try:
        return requests.get(f"{endpoint}/_ministack/ready", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def sam_deploy(
    tools: Tools,
    template: Path,
    endpoint: str,
    stack: str,
    bucket: str,
    config: Path,
    overrides: dict[str, str],
) -> None:
    cmd = [
        str(tools.sam), "deploy",
        "--template-file", str(template),
        "--stack-name", stack,
        "--s3-bucket", bucket,
        "--region", REGION,
        "--capabilities", "CAPABILITY_IAM",
        "--no-confirm-changeset",
        "--no-fail-on-empty-changeset",
        "--no-progressbar",
        "--config-file", str(config),
        # Quoted: SAM splits the overrides on whitespace ("rate(1 day)").
        "--parameter-overrides", *[f'{k}="{v}"' for k, v in overrides.items()],
    ]  # fmt: skip
    env = sam_env(tools, AWS_ENDPOINT_URL=endpoint, AWS_DEFAULT_REGION=REGION, **ROOT_CREDENTIALS)
    try:
        _run(cmd, env, "sam deploy", cwd=template.parent)
    except RuntimeError as exc:
        raise RuntimeError(f"{exc}\n{_failed_events(endpoint, stack)}") from None


def _failed_events(endpoint: str, stack: str) -> str:
    """Why resources failed: SAM's table cuts the reasons off."""
    cfn = boto3.client(
        "cloudformation",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ROOT_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=ROOT_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    try:
        events = cfn.describe_stack_events(StackName=stack)["StackEvents"]
    except Exception as exc:  # the stack may not exist: the change set was refused
        return f"(no stack events: {type(exc).__name__})"
    return "\n".join(
        f"{e['LogicalResourceId']} {e['ResourceType']}: {e.get('ResourceStatusReason', '')}"
        for e in events
        if e["ResourceStatus"].endswith("_FAILED")
    )


def sent_emails(endpoint: str) -> list[dict[str, Any]]:
    """What MiniStack's SES accepted: To, Subject, BodyText, BodyHtml per message."""
    data = requests.get(f"{endpoint}/_ministack/ses/messages", timeout=10).json()
    return [m for messages in data.get("messages", {}).values() for m in messages]


def wait_for(
    check: Callable[[], Any],
    timeout_s: float,
    what: str,
    interval_s: float = 0.5,
    give_up: Callable[[], bool] | None = None,
    explain: Callable[[], str] | None = None,
) -> Any:
    """Poll until `check()` is truthy; returns its value, or fails saying what it awaited
    (and, from `explain`, what the deployed functions said meanwhile)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline or (give_up is not None and give_up()):
            detail = f"\n{explain()}" if explain else ""
            raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}{detail}")
        time.sleep(interval_s)
