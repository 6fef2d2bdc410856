"""Each handler imported in a fresh interpreter with its template environment, the way a
cold start imports it: nothing networked, no AWS SDK, nothing its function does not use.

The emulator's endpoint is replaced by a closed port, so any AWS call at import fails the
import. The layer's build prunes packages (layers/socialcare/Makefile, PRUNE): none may be
imported, or the deployed function would fail where the tests pass.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from socialcare_cli import local_aws
from socialcare_cli.lambda_local import handler_path
from socialcare_cli.template import REPO, Stack

PROBE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps(sorted(sys.modules)))
"""
NOWHERE = "http://127.0.0.1:9"  # the discard port: a call there is refused at once
NEVER = [
    "boto3",  # with the first client, not at import
    "aws_lambda_powertools.utilities.parser",  # every event model (~300 ms)
    "aws_lambda_powertools.utilities.batch",  # asyncio and every event class
    "aws_lambda_powertools.utilities.data_classes",  # every event class
]
SOURCES, TRIAGE = "socialcare.sources", "socialcare.triage"
IDENTITY, OUTREACH = "socialcare.identity", "socialcare.outreach"
# What each function does without: the organs and heavy libraries it has no use for.
UNUSED = {
    "FetchMentionsFunction": [TRIAGE, IDENTITY, OUTREACH, "jinja2"],
    "TriageMentionsFunction": [SOURCES, OUTREACH, "socialcare.operations.digest", "jinja2"],
    "SendOutreachFunction": [SOURCES, TRIAGE + ".classifier", "fasttext"],
    # requests with the first read-back: a notification that carries its post needs none.
    "ReceiveWebhookFunction": [TRIAGE, IDENTITY, OUTREACH, "requests", "jinja2"],
    "UnsubscribeFunction": [SOURCES, TRIAGE, "requests", "jinja2"],
    "EmailEventsFunction": [SOURCES, TRIAGE, "requests", "jinja2"],
    "IncidentSwitchFunction": [SOURCES, TRIAGE, IDENTITY, OUTREACH, "requests", "jinja2"],
    # The digest's e-mail picks its language as the customers' does (triage.language).
    "SendDigestFunction": [SOURCES, TRIAGE + ".classifier", IDENTITY + ".crm", "fasttext"],
    "MarkWrongFunction": [SOURCES, TRIAGE, IDENTITY + ".crm", "requests", "jinja2"],
    "MeasureOutcomeFunction": [SOURCES, TRIAGE, OUTREACH, "jinja2"],
    "ReviewFunction": [SOURCES, TRIAGE + ".classifier", IDENTITY + ".crm", "requests", "fasttext"],
}


def pruned() -> list[str]:
    """The module names of what the layer's build removes (its PRUNE, asked of make)."""
    out = subprocess.run(  # noqa: S603 - make, on our own Makefile
        ["make", "-s", "-C", str(REPO / "layers" / "socialcare"), "print-prune"],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [path.strip("/").replace("/", ".") for path in out.split()]


def modules_at_import(stack: Stack, logical_id: str) -> list[str]:
    path, _ = handler_path(stack, logical_id)
    env = {
        **stack.function_environment(logical_id),
        **local_aws.FAKE_ENV,
        "AWS_ENDPOINT_URL": NOWHERE,
        "PATH": "/usr/bin:/bin",
    }
    proc = subprocess.run(  # noqa: S603 - this interpreter, our own probe
        [sys.executable, "-c", PROBE, str(path)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    loaded: list[str] = json.loads(proc.stdout.strip().splitlines()[-1])
    return loaded


def test_the_pruned_list_is_read_from_the_build() -> None:
    names = pruned()
    assert "aws_lambda_powertools.event_handler" in names and "pydantic.v1" in names
    assert "aws_lambda_powertools.utilities.data_masking" in names


@pytest.mark.parametrize("logical_id", sorted(UNUSED))
def test_import_is_offline_and_loads_only_what_the_function_uses(
    stack: Stack, logical_id: str
) -> None:
    loaded = modules_at_import(stack, logical_id)
    banned = [*NEVER, *pruned(), *UNUSED[logical_id]]
    found = [m for m in loaded if any(m == b or m.startswith(b + ".") for b in banned)]
    assert not found, f"{logical_id} imports {found[:8]}"
    assert "socialcare.wiring" in loaded  # the import did run the function's module


def test_every_function_is_covered(stack: Stack) -> None:
    assert set(UNUSED) == set(stack.of_type("AWS::Serverless::Function"))


def test_handlers_are_where_the_template_says(stack: Stack) -> None:
    for logical_id in UNUSED:
        path, _ = handler_path(stack, logical_id)
        assert path.is_file() and Path(path).parent.parent == REPO / "functions"
