"""Cold starts for `make bench`: every function of template.yaml as a fresh process.

Each round runs bare `import boto3` once (the baseline) and then each function: a new
interpreter (`python -S`, so no site hooks of the dev venv) with the function's environment
from the template, its code on the path as Lambda puts it (function dir, then the layer,
then the runtime's boto3), bytecode never written (Lambda's /opt is read-only). The probe
(`bench_probe.py`) imports the handler, then runs the function's sample event from events/.
Before each function the emulator and the local servers are reset, so every first event
finds the same world: nothing sent, no cursor stored, no idempotency record.
"""

from __future__ import annotations

import compileall
import json
import os
import statistics
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import requests
import yaml

from socialcare.models import Decision, Mention, Reason
from socialcare.operations.digest_entry import entry
from socialcare_cli import local_aws, servers
from socialcare_cli.demo import sample
from socialcare_cli.lambda_local import handler_path
from socialcare_cli.template import REPO, Stack, load_template

PROBE = Path(__file__).with_name("bench_probe.py")
EVENTS = REPO / "events"
LAYER_SOURCE = REPO / "layers" / "socialcare"

# Each function's first event (also for `sam local invoke`). Their sample values:
# events/unsubscribe_one_click.json's and mark_wrong_post.json's tokens are signed with it
SAMPLE_HASH_KEY = "sample-hash-key"
SAMPLE_META_SECRET = {"app_secret": "sample-app-secret", "verify_token": "sample-verify-token"}
SAMPLE_PAGE_ID = "101234567890123"  # the Page of events/webhook_notification.json
FIRST_EVENTS = {
    "FetchMentionsFunction": "fetch_replay.json",
    "TriageMentionsFunction": "triage_sqs.json",
    "SendOutreachFunction": "mailer_sqs.json",
    "ReceiveWebhookFunction": "webhook_notification.json",
    "UnsubscribeFunction": "unsubscribe_one_click.json",
    "EmailEventsFunction": "email_events_sns.json",
    "IncidentSwitchFunction": "incident_alarm_sns.json",
    "SendDigestFunction": "digest_schedule.json",
    "MarkWrongFunction": "mark_wrong_post.json",
    "ReviewFunction": "review_confirm.json",  # a link no stack sealed: refused
    "MeasureOutcomeFunction": "outcome_schedule.json",
}
# The scheduled drains' last receive would long-poll their emptied queue: idle, not start-up.
SHORT_POLL = {"SendDigestFunction": "DIGEST_WAIT_S", "MeasureOutcomeFunction": "OUTCOME_WAIT_S"}
DIGEST_ENTRIES = 5  # decisions waiting on DigestQueue for SendDigest's first event


# What each first event comes to in the world below (a subset of the answer): a first
# event that did not do its work would make its timing meaningless.
EXPECTED: dict[str, dict[str, Any]] = {
    "FetchMentionsFunction": {"source": "replay", "fetched": 19},
    "TriageMentionsFunction": {"batchItemFailures": 1},  # the sample's malformed record
    "SendOutreachFunction": {"batchItemFailures": 0},
    "ReceiveWebhookFunction": {"statusCode": 200},
    "UnsubscribeFunction": {"statusCode": 200},
    "EmailEventsFunction": {"opted_out": 1},
    "IncidentSwitchFunction": {"incident_topics": ["outage"]},
    "SendDigestFunction": {"decisions": DIGEST_ENTRIES},
    "MarkWrongFunction": {"statusCode": 200},
    "ReviewFunction": {"statusCode": 403},
    "MeasureOutcomeFunction": {"measured": 0},  # nothing e-mailed a week ago
}


def as_expected(logical_id: str, outcome: Any) -> bool:
    expected = EXPECTED.get(logical_id, {})
    return isinstance(outcome, dict) and all(outcome.get(k) == v for k, v in expected.items())


def first_event(logical_id: str) -> dict[str, Any] | None:
    """The function's sample event; SQS mentions and requests dated now, so not stale."""
    name = FIRST_EVENTS.get(logical_id)
    if name is None:
        return None
    event: dict[str, Any] = json.loads((EVENTS / name).read_text("utf-8"))
    for record in event.get("Records", []):
        if record.get("eventSource") == "aws:sqs":
            body = json.loads(record["body"])
            for key in ("created_at", "post_created_at"):
                if key in body:
                    body[key] = datetime.now(UTC).isoformat()
            record["body"] = json.dumps(body)
    return event


class _Swappable:
    """A server route whose target is replaced on every reset."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make
        self.target = make()

    def reset(self) -> None:
        self.target = self.make()

    def __call__(self, *args: Any) -> Any:
        return self.target(*args)


@dataclass
class World:
    """The emulator (moto's server) plus the replay source and the CRM on 127.0.0.1."""

    endpoint: str
    replay_url: str
    crm_url: str
    routes: list[_Swappable] = field(default_factory=list)

    def reset(self) -> Stack:
        requests.post(f"{self.endpoint}/moto-api/reset", timeout=10)
        for route in self.routes:
            route.reset()
        stack = Stack(
            load_template(),
            overrides={
                "EnableReplay": "true",
                "ReplayUrl": self.replay_url,
                "CrmUrl": self.crm_url,
                "OutreachMode": "live",
                "EnableFacebook": "true",
                "FacebookPageId": SAMPLE_PAGE_ID,
                "ShadowDigest": "daily",
                "ReviewAddress": "agents@lynet.example",
            },
        )
        local_aws.provision(stack)
        local_aws.set_secret(stack, "HashKeySecret", SAMPLE_HASH_KEY)
        local_aws.set_secret(stack, "CrmTokenSecret", "demo-token")
        local_aws.set_secret(stack, "MetaSourceSecret", json.dumps(SAMPLE_META_SECRET))
        _decided(stack)
        return stack


def _decided(stack: Stack) -> None:
    """DigestQueue as triage leaves it: a few decisions on the sample mention."""
    record = json.loads((EVENTS / FIRST_EVENTS["TriageMentionsFunction"]).read_text("utf-8"))
    mention = Mention.model_validate_json(record["Records"][0]["body"])
    sqs = boto3.client("sqs")  # moto_server() points it at the emulator
    for i in range(DIGEST_ENTRIES):
        decision = Decision.of(Reason.CONTACT, mention_id=f"{i:032x}", fetch_id="f", source="x")
        body = entry(mention, decision).model_dump_json()
        sqs.send_message(QueueUrl=stack.physical["DigestQueue"], MessageBody=body)


@contextmanager
def world() -> Iterator[World]:
    """The demo's sample posts (pages of five) and CRM, behind swappable routes."""
    crm_data = sample("crm.json")
    replay = _Swappable(lambda: servers.ReplayPages(sample("posts.json"), page_size=5))
    crm = _Swappable(
        lambda: servers.ContractCrm(crm_data["customers"], crm_data.get("interactions"))
    )
    with (
        local_aws.moto_server() as endpoint,
        servers.serve(replay) as replay_url,
        servers.serve(crm) as crm_url,
    ):
        yield World(endpoint, replay_url, crm_url, [replay, crm])


@dataclass(frozen=True)
class Code:
    """Where a function's code comes from: a `sam build` output (the function's directory,
    its layers' python/ as /opt/python, boto3 as the runtime has it), or this checkout
    (layers/socialcare, the rest from the dev venv)."""

    build: Path | None = None  # a `sam build` output dir (with its template.yaml)
    runtime: Path | None = None  # /var/runtime: boto3 and botocore, nothing else
    architecture: str = "x86_64"  # the layers this machine can load

    def __post_init__(self) -> None:
        if self.build is None:
            compileall.compile_dir(LAYER_SOURCE, quiet=1)  # bytecode, as a build ships it

    def describe(self) -> str:
        return f"sam build {self.build}" if self.build else "source tree + dev venv"

    def paths(self, logical_id: str) -> tuple[Path, str]:
        """(the handler file, PYTHONPATH) for one function; no logical id: the baseline."""
        site = [self.runtime] if self.runtime else [Path(sysconfig.get_paths()["purelib"])]
        if not logical_id:
            return PROBE, os.pathsep.join(map(str, site))
        if self.build is None:
            handler, _ = handler_path(Stack(load_template()), logical_id)
            layers = [LAYER_SOURCE]
        else:
            built = Stack(
                yaml.safe_load((self.build / "template.yaml").read_text("utf-8")),
                overrides={"Architecture": self.architecture},
            )
            handler, _ = handler_path(built, logical_id, base=self.build)
            for layer in built.of_type("AWS::Serverless::LayerVersion"):
                built.physical[layer] = layer
            glob = built.template.get("Globals", {}).get("Function", {}).get("Layers", [])
            own = built.resources[logical_id]["Properties"].get("Layers", [])
            content = {k: v["Properties"]["ContentUri"] for k, v in built.resources.items()
                       if v["Type"] == "AWS::Serverless::LayerVersion"}  # fmt: skip
            layers = [self.build / content[built.resolve(ref)] / "python" for ref in glob + own]
        return handler, os.pathsep.join(map(str, [handler.parent, *layers, *site]))


def lambda_env(stack: Stack, logical_id: str, endpoint: str) -> dict[str, str]:
    """What Lambda would set: the template's variables, the runtime's own, and credentials
    and an endpoint for the emulator."""
    props = stack.resources[logical_id]["Properties"]
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        **stack.function_environment(logical_id),
        **local_aws.FAKE_ENV,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_LAMBDA_FUNCTION_NAME": logical_id,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "_HANDLER": str(props["Handler"]),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        **({SHORT_POLL[logical_id]: "0"} if logical_id in SHORT_POLL else {}),
    }


def probe(
    spec: dict[str, Any], env: dict[str, str], pythonpath: str, timeout_s: float = 120
) -> dict[str, Any]:
    """Run bench_probe.py once in a fresh interpreter; its logs are discarded."""
    with tempfile.TemporaryDirectory(prefix="socialcare-bench-") as tmp:
        spec_path, out_path = Path(tmp) / "spec.json", Path(tmp) / "out.json"
        spec_path.write_text(json.dumps(spec), "utf-8")
        proc = subprocess.run(  # noqa: S603 - this interpreter and our own probe script
            [sys.executable, "-S", str(PROBE), str(spec_path), str(out_path)],
            env={**env, "PYTHONPATH": pythonpath},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        if proc.returncode != 0 or not out_path.exists():
            tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
            return {"error": f"exit {proc.returncode}: {tail[0][:300]}"}
        report: dict[str, Any] = json.loads(out_path.read_text("utf-8"))
        if "error" in (report.get("outcome") or {}):
            report["stderr_tail"] = proc.stderr.strip().splitlines()[-1:]
        return report


def functions(stack: Stack) -> list[str]:
    return sorted(stack.of_type("AWS::Serverless::Function"))


def _median(samples: list[dict[str, Any]], key: str) -> float | None:
    values = [s[key] for s in samples if isinstance(s.get(key), (int, float))]
    return round(statistics.median(values), 1) if values else None


def summarise(
    baseline: list[dict[str, Any]], runs: dict[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    """Medians per function, each divided by the median of `import boto3` of the same run."""
    boto3_ms, boto3_cpu = _median(baseline, "import_ms"), _median(baseline, "import_cpu_ms")
    out: dict[str, Any] = {}
    for name, samples in runs.items():
        good = [s for s in samples if "error" not in s]
        import_ms, first_ms = _median(good, "import_ms"), _median(good, "first_event_ms")
        import_cpu, first_cpu = _median(good, "import_cpu_ms"), _median(good, "first_event_cpu_ms")
        outcomes = [s.get("outcome") for s in good]
        errors = [s["error"] for s in samples if "error" in s]
        errors += [str(o) for o in outcomes if isinstance(o, dict) and "error" in o]
        out[name] = {
            "import_ms": import_ms,
            "first_event_ms": first_ms,
            "ratio_to_boto3": _ratio(import_ms, boto3_ms),
            "first_event_ratio_to_boto3": _ratio(first_ms, boto3_ms),
            # The same in CPU time: steadier than the clock on a shared machine.
            "cpu_ratio_to_boto3": _ratio(import_cpu, boto3_cpu),
            "first_event_cpu_ratio_to_boto3": _ratio(first_cpu, boto3_cpu),
            "peak_mib": max((s["peak_mib"] for s in good), default=None),
            "event": FIRST_EVENTS.get(name),
            "outcome": outcomes[-1] if outcomes else None,
            "first_event_ok": bool(outcomes) and all(as_expected(name, o) for o in outcomes),
            "runs": len(good),
            "errors": errors[:3],
        }
    return out


def _ratio(value: float | None, base: float | None) -> float | None:
    return round(value / base, 2) if value is not None and base else None


def measure(
    code: Code,
    rounds: int,
    progress: Callable[[str], None],
    only: list[str] | None = None,
) -> dict[str, Any]:
    """Interleaved rounds: boto3, then every function once, `rounds` times."""
    with world() as w:
        stack = w.reset()
        names = [n for n in functions(stack) if not only or n in only]
        baseline: list[dict[str, Any]] = []
        runs: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
        base_env = lambda_env(stack, names[0], w.endpoint) if names else {}
        paths = {name: code.paths(name) for name in ["", *names]}
        for i in range(rounds):
            progress(f"cold starts: round {i + 1} of {rounds}")
            baseline.append(probe({"handler": None}, base_env, paths[""][1]))
            for name in names:
                stack = w.reset()
                handler, pythonpath = paths[name]
                spec = {"handler": str(handler), "function": name, "event": first_event(name)}
                runs[name].append(probe(spec, lambda_env(stack, name, w.endpoint), pythonpath))
    return {
        "baseline": {
            "import_boto3_ms": _median(baseline, "import_ms"),
            "import_boto3_cpu_ms": _median(baseline, "import_cpu_ms"),
            "peak_mib": _median(baseline, "peak_mib"),
            "runs": len([b for b in baseline if "error" not in b]),
        },
        "functions": summarise(baseline, runs),
    }
