"""`socialcare demo`: the whole pipeline on built-in sample data, against a local AWS.

moto's server on 127.0.0.1 provisioned from template.yaml; a replay source and a sample
CRM over real HTTP; the three handlers imported as Lambda imports them and driven the way
Lambda's schedules and SQS pollers would. Writes DIR/outbox/*.eml, DIR/decisions.jsonl,
DIR/logs.jsonl (every log line and metric the functions wrote), DIR/state.jsonl (the
state table's items at the end) and DIR/report.html (each post beside its decision: a
local file for people, see socialcare_cli.report). In review mode the Review function
answers on a local Function URL; `approve` follows the review e-mails' Approve links as an
agent would.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from socialcare_cli import demo_platforms, lambda_local, local_aws, report, review_agent, servers
from socialcare_cli.cmd_crm_serve import standin
from socialcare_cli.template import Stack, load_template

FUNCTIONS = ("FetchMentionsFunction", "TriageMentionsFunction", "SendOutreachFunction")


def sample(name: str) -> Any:
    return json.loads(resources.files("socialcare_cli").joinpath(f"sample/{name}").read_text())


@dataclass
class DemoResult:
    out: Path
    fetched: int = 0
    decisions: dict[str, dict[str, Any]] = field(default_factory=dict)
    emails: list[Path] = field(default_factory=list)
    dead_letters: dict[str, int] = field(default_factory=dict)
    # What triage was handed, by fetch id: the demo's own sample, for the report only.
    posts: dict[str, dict[str, Any]] = field(default_factory=dict)
    incident: str = "off"
    report: Path | None = None
    digest: Path | None = None  # --digest: the agents' shadow digest as SES took it
    approvals: list[review_agent.Click] = field(default_factory=list)  # --approve

    @property
    def reasons(self) -> Counter[str]:
        return Counter(d["reason"] for d in self.decisions.values())


class LogCapture:
    """Collect all the functions write (Powertools JSON logs, EMF metrics, and anything
    else on stdout or stderr: a traceback, a warning), so the privacy scan sees it all."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()

    @contextlib.contextmanager
    def active(self) -> Any:
        handlers = [
            h
            for h in logging.getLogger("socialcare").handlers
            if isinstance(h, logging.StreamHandler)
        ]
        old = [h.setStream(self.buffer) for h in handlers]
        try:
            with contextlib.redirect_stdout(self.buffer), contextlib.redirect_stderr(self.buffer):
                yield
        finally:
            for h, stream in zip(handlers, old, strict=True):
                if stream is not None:
                    h.setStream(stream)

    def lines(self) -> list[dict[str, Any]]:
        """Each line as JSON; a line that is not JSON is kept as {"unstructured": line}."""
        out = []
        for line in self.buffer.getvalue().splitlines():
            try:
                parsed = json.loads(line)
            except ValueError:
                parsed = None
            out.append(parsed if isinstance(parsed, dict) else {"unstructured": line})
        return out


def run_demo(
    out: Path,
    *,
    posts: list[dict[str, Any]] | None = None,
    crm: dict[str, Any] | None = None,
    mode: str = "live",
    progress: Any = print,
    incident_alarm: str | None = None,
    platforms: bool = False,
    crm_kind: str = "",
    digest: bool = False,
    approve: str | None = None,
) -> DemoResult:
    out.mkdir(parents=True, exist_ok=True)
    (out / "outbox").mkdir(exist_ok=True)
    for old in (out / "outbox").glob("*.eml"):
        old.unlink()
    posts = posts if posts is not None else sample("posts.json")
    crm = crm if crm is not None else sample("crm.json")
    replay = servers.ReplayPages(posts, page_size=5)
    # The sample CRM behind the contract, or a vendor's stand-in (`make demo CRM=hubspot`)
    directory = standin(crm_kind or "http", crm)
    capture = LogCapture()
    result = DemoResult(out)

    with (
        local_aws.moto_server() as endpoint,
        servers.serve(replay) as replay_url,
        servers.serve(directory) as crm_url,
        demo_platforms.serve(enabled=platforms) as sources,  # --platforms: X, Bluesky, Trustpilot
        contextlib.ExitStack() as later,
    ):
        progress(
            f"local AWS (moto) on {endpoint}; replay source on {replay_url}; "
            f"sample CRM ({crm_kind or 'the HTTP contract'}) on {crm_url}"
        )
        stack = Stack(
            load_template(),
            overrides={
                "EnableReplay": "true",
                "ReplayUrl": replay_url,
                "CrmUrl": crm_url,
                **(_vendor(crm_kind, crm_url) if crm_kind else {}),
                "OutreachMode": mode,
                "ReviewAddress": "agents@lynet.example",
                # Name matches (sample: "Joergen Aeroe Aagaard") go to the agents first.
                "NameMatching": "review",
                **sources.overrides,
                **({"ShadowDigest": "daily"} if digest else {}),
            },
        )
        bind_review = later.enter_context(review_agent.function_url(stack))
        local_aws.provision(stack)
        sources.store_secrets(stack)
        progress(f"provisioned from template.yaml: {len(stack.physical)} resources")
        local_env = {"SOCIALCARE_CRM_TOKEN": crm["token"], **sources.env}
        with capture.active():
            handlers = {f: lambda_local.load_handler(stack, f, local_env)[1] for f in FUNCTIONS}
            handlers[FUNCTIONS[1]] = _watching(handlers[FUNCTIONS[1]], result.posts)
            bind_review(lambda_local.load_handler(stack, review_agent.FUNCTION, local_env)[1])
            fetch = handlers["FetchMentionsFunction"](
                {"source": "replay"}, lambda_local.FakeContext("FetchMentionsFunction")
            )
            from_platforms = sources.fetch(handlers["FetchMentionsFunction"], progress)
        result.fetched = fetch["fetched"] + from_platforms
        if incident_alarm:
            with capture.active():
                switched = inject_alarm(stack, incident_alarm, local_env)
            progress(f"complaint-spike alarm injected: incident mode on for {switched}")
        progress(f"fetched {fetch['fetched']} mentions in {fetch['pages']} pages")
        for function in FUNCTIONS[1:]:
            queue, props = stack.sqs_event(function)
            with capture.active():
                stats = lambda_local.poll(
                    stack.physical[queue],
                    stack.attributes[(queue, "Arn")],
                    handlers[function],
                    function_name=function,
                    batch_size=int(props.get("BatchSize", 10)),
                )
            progress(
                f"{function}: {stats.records} records in {stats.batches} batches, "
                f"{stats.failures} failed"
            )
        if approve and mode == "review":
            with capture.active():
                result.approvals = review_agent.approve(local_aws.sent_emails(endpoint), approve)
                queue, props = stack.sqs_event("SendOutreachFunction")
                lambda_local.poll(
                    stack.physical[queue],
                    stack.attributes[(queue, "Arn")],
                    handlers["SendOutreachFunction"],
                    function_name="SendOutreachFunction",
                    batch_size=int(props.get("BatchSize", 10)),
                )
            progress(f"approved {len(result.approvals)} review e-mails by their links")
        result.dead_letters = _dead_letters(stack)
        result.incident = _incident(stack)
        _dump_state(stack, out / "state.jsonl")
        for i, message in enumerate(local_aws.sent_emails(endpoint), start=1):
            path = out / "outbox" / f"{i:03d}.eml"
            path.write_text(message["raw_data"] if "raw_data" in message else message["body"])
            result.emails.append(path)
        if digest:
            with capture.active():
                result.digest = _send_digest(stack, local_env, endpoint, out / "digest.eml")
            progress(f"shadow digest: one e-mail to the agents in {result.digest}")

    lines = capture.lines()
    (out / "logs.jsonl").write_text(
        "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines)
    )
    for line in lines:
        if line.get("message") == "decision":
            # The mailer's word is final for a mention it skipped after triage said contact.
            result.decisions[line["fetch_id"]] = {
                k: line.get(k)
                for k in (
                    "mention_id",
                    "decision",
                    "reason",
                    "source",
                    "stage",
                    "topics",
                    "language",
                    "match",
                )
            }
    with (out / "decisions.jsonl").open("w") as fh:
        for decision in result.decisions.values():
            fh.write(json.dumps(decision) + "\n")
    result.report = report.write(_report(result, mode), out / "report.html")
    return result


def _send_digest(stack: Stack, env: dict[str, str], endpoint: str, path: Path) -> Path:
    """SendDigest invoked as its schedule would; the one e-mail it sent, saved."""
    before = len(local_aws.sent_emails(endpoint))
    send = lambda_local.load_handler(stack, "SendDigestFunction", env)[1]
    send({}, lambda_local.FakeContext("SendDigestFunction"))
    (message,) = local_aws.sent_emails(endpoint)[before:]
    path.write_text(message["raw_data"])
    return path


def _watching(handler: lambda_local.Handler, posts: dict[str, Any]) -> lambda_local.Handler:
    """Triage's handler, noting each mention it is handed (by fetch id) for the report."""

    def invoke(event: dict[str, Any], context: Any) -> Any:
        for record in event.get("Records", []):
            with contextlib.suppress(ValueError, TypeError, AttributeError):
                body = json.loads(record["body"])
                posts.setdefault(str(body.get("fetch_id") or record["messageId"]), body)
        return handler(event, context)

    return invoke


def _incident(stack: Stack) -> str:
    import boto3

    from socialcare.operations import incident

    value = boto3.client("ssm").get_parameter(Name=stack.physical["IncidentParameter"])
    state = incident.parse(value["Parameter"]["Value"])
    topics = state.active_topics(datetime.now(UTC))
    if not topics or state.expires_at is None:
        return "off"
    until = state.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    return f"on for {', '.join(sorted(topics))} until {until} (set by {state.set_by})"


def _report(result: DemoResult, mode: str) -> report.Report:
    built = report.Report(
        title="socialcare demo: what happened",
        decisions=list(result.decisions.values()),
        posts=[result.posts.get(fetch_id) for fetch_id in result.decisions],
        fetched=result.fetched,
        emails=[report.read_email(path) for path in result.emails],
        notes=[
            f"mode {mode}; the sample's posts through moto, a replay source and a sample CRM",
            "beside this file: decisions.jsonl (the audit lines), logs.jsonl, outbox/*.eml",
        ],
        incident=result.incident,
        digest=report.read_email(result.digest) if result.digest else None,
    )
    built.link_emails_by_post_url()
    return built


def _dump_state(stack: Stack, path: Path) -> None:
    """The state table's items as the run left them (hashed keys only; make privacy)."""
    import boto3

    pages = (
        boto3.client("dynamodb")
        .get_paginator("scan")
        .paginate(TableName=stack.physical["StateTable"])
    )
    with path.open("w") as fh:
        for page in pages:
            for item in page["Items"]:
                fh.write(json.dumps(item, ensure_ascii=False, sort_keys=True) + "\n")


def _dead_letters(stack: Stack) -> dict[str, int]:
    import boto3

    sqs = boto3.client("sqs")
    counts = {}
    for name in ("MentionsDeadLetterQueue", "OutreachDeadLetterQueue"):
        attrs = sqs.get_queue_attributes(
            QueueUrl=stack.physical[name], AttributeNames=["ApproximateNumberOfMessages"]
        )
        counts[name] = int(attrs["Attributes"]["ApproximateNumberOfMessages"])
    return counts


def print_funnel(result: DemoResult, file: Any = None) -> None:
    file = file or sys.stdout
    reasons = result.reasons
    print("\nfunnel", file=file)
    for label, n in report.funnel(reasons, result.fetched):
        print(f"  {label:<16} {n:>4}", file=file)
    print("  skipped by reason", file=file)
    for reason, n in sorted(reasons.items()):
        if reason != "contact":
            print(f"    {reason:<20} {n:>3}", file=file)
    print(f"\noutbox: {len(result.emails)} e-mails in {result.out / 'outbox'}", file=file)
    if result.approvals:
        done = sum(c.page == 200 and c.done == 200 for c in result.approvals)
        reviews, customers = _recipients(result.emails)
        print(
            f"review: {reviews} review e-mails to the agents; {len(result.approvals)} Approve "
            f"links followed (GET the page, POST its form), {done} approved; "
            f"{sum(customers.values())} e-mails to {len(customers)} customers",
            file=file,
        )
    print(
        f"decisions: {result.out / 'decisions.jsonl'}; logs: {result.out / 'logs.jsonl'}", file=file
    )
    if any(result.dead_letters.values()):
        print(f"dead letters: {result.dead_letters}", file=file)
    if result.digest:
        print(f"shadow digest: {result.digest}", file=file)
    if result.report:
        print(f"report: {result.report}", file=file)  # the last line: the file to open


def _recipients(emails: list[Path]) -> tuple[int, Counter[str]]:
    """The review copies among the e-mails, and how many each customer got."""
    from email import message_from_bytes, policy

    messages = [message_from_bytes(p.read_bytes(), policy=policy.default) for p in emails]
    reviews = [m for m in messages if m.get("X-Socialcare-Review") == "1"]
    return len(reviews), Counter(str(m["To"]) for m in messages if m not in reviews)


def alarm_notification(stack: Stack, topic: str) -> dict[str, Any]:
    """The SNS message CloudWatch sends when ComplaintSpike<Topic>Alarm enters ALARM,
    built from the alarm as template.yaml defines it (the emulator evaluates no alarms)."""
    name = f"ComplaintSpike{topic.capitalize()}Alarm"
    props = stack.resources[name]["Properties"]
    return {
        "AlarmName": f"{stack.name}-{name}",
        "NewStateValue": "ALARM",
        "OldStateValue": "OK",
        "NewStateReason": "Threshold Crossed: 2 out of the last 2 datapoints were greater "
        "than or equal to the threshold",
        "Trigger": {
            "Namespace": props["Namespace"],
            "MetricName": props["MetricName"],
            "Dimensions": [{"name": d["Name"], "value": d["Value"]} for d in props["Dimensions"]],
            "Statistic": props["Statistic"].upper(),
            "Period": props["Period"],
            "EvaluationPeriods": props["EvaluationPeriods"],
            "ComparisonOperator": props["ComparisonOperator"],
            "Threshold": float(stack.resolve(props["Threshold"])),
        },
    }


def sns_event(message: dict[str, Any], topic_arn: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic_arn}:demo",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": "demo",
                    "TopicArn": topic_arn,
                    "Subject": "ALARM",
                    "Message": json.dumps(message),
                    "Timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
                    "SignatureVersion": "1",
                    "Signature": "",
                    "SigningCertUrl": "",
                    "UnsubscribeUrl": "",
                    "MessageAttributes": {},
                },
            }
        ]
    }


def inject_alarm(stack: Stack, topic: str, env: dict[str, str]) -> list[str]:
    switch = lambda_local.load_handler(stack, "IncidentSwitchFunction", env)[1]
    event = sns_event(alarm_notification(stack, topic), "arn:aws:sns:eu-west-1:123456789012:ops")
    result = switch(event, lambda_local.FakeContext("IncidentSwitchFunction"))
    return list(result["incident_topics"])


def _vendor(kind: str, url: str) -> dict[str, str]:
    """The parameters of a vendor's stand-in: one URL for both parts of a composite, and
    a connected app's client id for Salesforce (the stand-in takes any)."""
    options = json.dumps({"salesforce": {"client_id": "socialcare-demo"}})
    return {"CrmKind": kind, "HelpDeskUrl": url, "CrmOptions": options}
