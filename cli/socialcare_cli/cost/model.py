"""The cost model: a line per priced item, fixed $/month and variable $ per 1M mentions.

Counts come from template.yaml (alarms, dashboards, keys, secrets, schedules, functions)
and the code (metric series); per-mention work from measured.json (or bench-out/bench.json
for the cold starts, when present); prices from prices.json. docs/cost.md explains each.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from socialcare_cli.cost import series
from socialcare_cli.template import REPO, Stack, load_template

HERE = Path(__file__).parent
BENCH = REPO / "bench-out" / "bench.json"
MONTH_S = 30 * 86400
API_CALL_S = 0.008  # an in-region DynamoDB/SQS/SSM call; moto on a busy laptop is slower
BATCH = 10  # MentionsQueue's BatchSize
LAMBDA_LOG_BYTES = 330  # START, END and REPORT lines per invocation
SECRET_CACHE_S = 300
CONTACTS_PER_COMPLAINT = 0.3  # the demo's sample: 4 e-mails of 14 complaints
# Priced unless --sources says otherwise: two polled sources and Meta's webhooks.
DEFAULT_SOURCES = ["bluesky", "mastodon", "facebook", "instagram"]


CPU_MB = 1769  # Lambda's one full vCPU; below it a function gets memory/1769 of one
CRM_CALL_S = 0.1  # a CRM or help-desk round trip (the stand-in answers at once)
MAILER_BATCH = 5  # OutreachQueue's BatchSize
# Per e-mail: OutreachQueue send, receive and delete (in 5s), OutcomeQueue send, then
# MeasureOutcome's receive and delete (in 10s).
SQS_PER_EMAIL = 1 + 2 / MAILER_BATCH + 1 + 2 / 10
MEMORY_MB = (128, 256, 512, 1024)


@dataclass
class PerItem:
    """One mention's (or e-mail's) work in a function, as measured."""

    cpu_s: float
    aws_calls: float
    http: float
    writes: float
    reads: float

    def seconds(self, memory_mb: int) -> float:
        """Billed duration: CPU stretched by Lambda's share at this memory, plus waits."""
        cpu = self.cpu_s * max(1.0, CPU_MB / memory_mb)
        return cpu + self.aws_calls * API_CALL_S + self.http * CRM_CALL_S


def _mix(kinds: dict[str, dict[str, Any]], weights: dict[str, float]) -> PerItem:
    """The mean record of a mix of kinds (a kind the sample lacks drops out)."""
    present = {k: w for k, w in weights.items() if w > 0 and kinds.get(k, {}).get("records")}
    total = sum(present.values()) or 1.0
    sums = [0.0] * 5
    for kind, weight in present.items():
        row, share = kinds[kind], weight / total / kinds[kind]["records"]
        calls = row["calls"]
        writes = sum(n for c, n in calls.items() if c.split(":")[1] in _WRITES)
        # Billed per item: a BatchGetItem of n keys is n reads (before measure.py counted
        # items, only GetItem calls were known).
        reads = row.get("read_items", calls.get("dynamodb:GetItem", 0))
        for i, value in enumerate((row["cpu_s"], sum(calls.values()), row["http"], writes, reads)):
            sums[i] += value * share
    return PerItem(*sums)


_WRITES = {"PutItem", "UpdateItem", "DeleteItem"}


class Work:
    """What a mention costs in the functions, from measured.json's records, weighted by
    the complaint rate: plain (decided without the CRM), complaint (a skip after the CRM)
    and contact (an e-mail)."""

    def __init__(self, measured: dict[str, Any], stack: Stack, complaint_rate: float) -> None:
        self.measured, self.stack, self.rate = measured, stack, complaint_rate
        k = CONTACTS_PER_COMPLAINT
        self.contacts = complaint_rate * k
        records = measured["per_record"]
        self.triage = _mix(
            records["TriageMentionsFunction"],
            {
                "plain": 1 - complaint_rate,
                "complaint": complaint_rate * (1 - k),
                "contact": self.contacts,
            },
        )
        self.mailer = _mix(records["SendOutreachFunction"], {"contact": 1.0})
        self.reviewed = float(measured.get("name_matched_share", 1.0))

    def memory_mb(self, function: str) -> int:
        props = self.stack.template["Resources"][function]["Properties"]
        default = self.stack.template["Globals"]["Function"]["MemorySize"]
        return int(self.stack.resolve(props.get("MemorySize", default)))

    def log_bytes(self) -> float:
        """Per mention: triage's line, a share of its batch's EMF blobs (one, and one for
        each further topic), Lambda's START/END/REPORT; per e-mail the mailer's."""
        lines, blob = self.measured["line_bytes"], self.measured["emf_bytes_per_blob"]
        blobs = 1 + min(9.0, BATCH * self.rate)
        triage = lines["decision triage"] + (blobs * blob + LAMBDA_LOG_BYTES) / BATCH
        mailer = lines["decision mailer"] + (blob + LAMBDA_LOG_BYTES) / MAILER_BATCH
        return triage + self.contacts * mailer


def memory_table(
    complaint_rate: float = 0.2, region: str = "eu-west-1"
) -> dict[str, dict[int, dict[str, float]]]:
    """Per function and memory size: a record's billed ms and $ per 1M mentions."""
    price = json.loads((HERE / "prices.json").read_text("utf-8"))["regions"][region]
    work = Work(inputs()["measured"], Stack(load_template()), complaint_rate)
    out: dict[str, dict[int, dict[str, float]]] = {}
    for name, item, per_mention in (
        ("TriageMentionsFunction", work.triage, 1.0),
        ("SendOutreachFunction", work.mailer, work.contacts),
    ):
        out[name] = {
            mb: {
                "ms": round(item.seconds(mb) * 1000, 1),
                "per_million_usd": round(
                    1e6 * per_mention * item.seconds(mb) * mb / 1024 * price["lambda_arm64_gb_s"], 3
                ),
            }
            for mb in MEMORY_MB
        }
    return out


@dataclass
class Line:
    service: str
    item: str
    quantity: float
    unit_price_usd: float
    monthly_usd: float
    kind: str  # fixed | variable | apart


def _schedule_runs(expr: str) -> float:
    hit = re.match(r"rate\((\d+) (minute|hour|day)s?\)", expr)
    step = {"minute": 60, "hour": 3600, "day": 86400}
    return MONTH_S / (int(hit.group(1)) * step[hit.group(2)]) if hit else MONTH_S / 300


def inputs() -> dict[str, Any]:
    measured = json.loads((HERE / "measured.json").read_text("utf-8"))
    bench = json.loads(BENCH.read_text("utf-8")) if BENCH.exists() else None
    return {"measured": measured, "bench": bench}


def _alarm_metrics(props: dict[str, Any]) -> int:
    if "Metrics" not in props:
        return 1
    stats = sum(1 for m in props["Metrics"] if "MetricStat" in m)
    band = any("ANOMALY_DETECTION_BAND" in m.get("Expression", "") for m in props["Metrics"])
    return stats + (2 if band else 0)  # an anomaly band is billed as 3 metrics


def _enable(source: str) -> str:
    return f"Enable{source.capitalize()}"  # x -> EnableX, bluesky -> EnableBluesky


# CloudWatch meters a custom metric by the hour, only the hours it receives data in. Of
# a month's hours, the share each series gets data in: every run's all of them; a daily
# count 1/24; a failure's none in a healthy month; a count that flows with the mentions
# the hours with at least one such event (Poisson, at the events per mention below).
SCHEDULED = {"SourceHeartbeat": 1.0, "Fetched": 1.0}
DAILY = {"OutreachOutcome", "OutreachOutcomeMeasured"}
OFF_BY_DEFAULT = {"DigestDecisions", "MarkedWrong"}  # ShadowDigest=off
FAILURES = {
    "SendFailures",
    "CrmAuthFailedTotal",
    "CrmUnavailable",
    "SourceAuthFailedTotal",
    "WebhookRejected",
    "WebhookFailed",
    "RateLimitedRuns",
}
MATCHED_PER_COMPLAINT = 0.7  # the demo's sample: 10 of 14 complaints
OFF_WINDOW = 1 - 40 / 168  # outside SendWindow Mon-Fri 08:00-16:00 every request waits


def _series_activity(
    scan: series.Scan, sources: list[str], per_day: float, work: Work
) -> list[tuple[str, int, float]]:
    """Per metric: the series a deployment with `sources` can emit (another source's
    heartbeat never gets data) and the share of the hours they get data in."""
    c, e, r = work.rate, work.contacts, work.reviewed
    flow = {
        "Skipped": 1 - e,
        "Complained": c,
        "Matched": c * MATCHED_PER_COMPLAINT,
        "Complaints": c / 9,  # each of nine topics
        ("Emailed", "live"): e * (1 - r),
        ("Emailed", "review"): e * r,
        ("Emailed", "shadow"): 0.0,  # priced in live mode
        "ReviewDecisions": e * r,
        "MailDeferred": e,
    }
    out: dict[str, list[float]] = {}
    for name, dims in sorted(scan.series):
        if any(k == "source" and v not in sources for k, v in dims):
            continue
        mode = dict(dims).get("mode")
        if name in SCHEDULED:
            active = SCHEDULED[name]
        elif name in DAILY:
            active = 1 / 24
        elif name in OFF_BY_DEFAULT or name in FAILURES:
            active = 0.0
        else:
            share = flow.get((name, mode) if mode else name, 1.0)
            active = 1 - math.exp(-per_day / 24 * share)
            active *= OFF_WINDOW if name == "MailDeferred" else 1.0
        out.setdefault(name, []).append(active)
    return [(name, len(a), sum(a) / len(a)) for name, a in out.items()]


def lines(
    per_day: float, complaint_rate: float, region: str, sources: list[str] | None = None
) -> tuple[list[Line], int]:
    p = json.loads((HERE / "prices.json").read_text("utf-8"))["regions"][region]
    sources = DEFAULT_SOURCES if sources is None else sources
    overrides = {"SendWindow": "Mon-Fri 08:00-16:00", **{_enable(s): "true" for s in sources}}
    stack = Stack(load_template(), overrides=overrides)
    data = inputs()
    m, bench = data["measured"], data["bench"]
    per_month = per_day * 30
    out: list[Line] = []

    def add(service: str, item: str, qty: float, price: float, kind: str) -> None:
        out.append(Line(service, item, round(qty, 3), price, round(qty * price, 4), kind))

    # --- fixed: what exists whatever the volume
    scan = series.scan()
    work = Work(m, stack, complaint_rate)
    for name, n, active in _series_activity(scan, sources, per_day, work):
        add(
            "CloudWatch",
            f"metric {name}: {n} series, data in {active:.0%} of the hours",
            n * active,
            p["cw_metric_month"],
            "fixed",
        )
    for name, res in stack.of_type("AWS::CloudWatch::Alarm").items():
        if stack.exists(name):
            n = _alarm_metrics(res["Properties"])
            add("CloudWatch", f"alarm {name}", n, p["cw_alarm_metric_month"], "fixed")
    for name in stack.of_type("AWS::CloudWatch::Dashboard"):
        add("CloudWatch", f"dashboard {name}", 1, p["cw_dashboard_month"], "fixed")
    for name in stack.of_type("AWS::KMS::Key"):
        add("KMS", f"key {name}", 1, p["kms_key_month"], "fixed")
    secrets = [n for n in stack.of_type("AWS::SecretsManager::Secret") if stack.exists(n)]
    for name in secrets:
        add("Secrets Manager", f"secret {name}", 1, p["secrets_secret_month"], "fixed")
    for name in stack.of_type("AWS::SSM::Parameter"):
        if stack.exists(name):
            add("SSM", f"standard parameter {name}", 1, p["ssm_standard_parameter_month"], "fixed")
    functions = stack.of_type("AWS::Serverless::Function")
    runs = 0.0
    for name, res in functions.items():
        for event in res["Properties"].get("Events", {}).values():
            props = event["Properties"]
            if (
                event["Type"] == "ScheduleV2"
                and stack.resolve(props.get("State", "ENABLED")) == "ENABLED"
            ):
                monthly = _schedule_runs(str(stack.resolve(props["ScheduleExpression"])))
                runs += monthly if name == "FetchMentionsFunction" else 0
                add(
                    "EventBridge Scheduler",
                    f"{name} schedule",
                    monthly / 1e6,
                    p["scheduler_invocations_per_million"],
                    "fixed",
                )
        if res["Properties"].get("FunctionUrlConfig"):
            add("Lambda", f"Function URL {name}", 0, p["function_url_requests"], "fixed")
    fetch = m["functions"]["FetchMentionsFunction"]
    fetch_mb = work.memory_mb("FetchMentionsFunction")
    memory_gb = fetch_mb / 1024
    fetch_s = PerItem(
        fetch["cpu_s"] / fetch["invocations"], sum(fetch["calls"].values()), 0, 0, 0
    ).seconds(fetch_mb)
    add(
        "Lambda",
        "scheduled fetch runs (GB-s)",
        runs * fetch_s * memory_gb,
        p["lambda_arm64_gb_s"],
        "fixed",
    )
    add(
        "Lambda",
        "scheduled fetch runs (requests)",
        runs / 1e6,
        p["lambda_requests_per_million"],
        "fixed",
    )
    add(
        "DynamoDB",
        "fetch cursor and pause reads/writes (WRU)",
        runs * 2 / 1e6,
        p["dynamodb_wru_per_million"],
        "fixed",
    )
    add(
        "SQS",
        "Lambda's idle long polling, 2 queues × 5 pollers",
        2 * 5 * MONTH_S / 20 / 1e6,
        p["sqs_requests_per_million"],
        "fixed",
    )
    add(
        "KMS",
        "SNS data keys for the two encrypted topics (reused 5 minutes)",
        2 * MONTH_S / 300 / 1e4,
        p["kms_requests_per_10k"],
        "fixed",
    )
    readers = 3  # fetch, triage, mailer containers re-read their secrets every 5 minutes
    add(
        "Secrets Manager",
        "GetSecretValue, cached 5 minutes",
        readers * MONTH_S / SECRET_CACHE_S / 1e4,
        p["secrets_calls_per_10k"],
        "fixed",
    )
    add(
        "CloudWatch Logs",
        "scheduled runs' log lines (GB)",
        runs * 1500 / 1e9,
        p["logs_ingest_gb"],
        "fixed",
    )
    if bench:
        cold = [c.get("first_event_ms") or 0 for c in bench.get("cold_start", {}).values()]
        inits = len(cold) * MONTH_S / 3600  # about one cold start per function an hour
        gb_s = inits * (sum(cold) / max(1, len(cold))) / 1000 * memory_gb
        add(
            "Lambda",
            f"cold starts (bench.json {bench.get('when', '')[:10]})",
            gb_s,
            p["lambda_arm64_gb_s"],
            "fixed",
        )

    # --- variable: per mention, from the measured records (measure.py's classes)
    per_month_contacts = per_month * work.contacts
    for name, per_item, count in (
        ("TriageMentionsFunction", work.triage, per_month),
        ("SendOutreachFunction", work.mailer, per_month_contacts),
    ):
        mb = work.memory_mb(name)
        add(
            "Lambda",
            f"{name.removesuffix('Function')} (GB-s at {mb} MB)",
            count * per_item.seconds(mb) * mb / 1024,
            p["lambda_arm64_gb_s"],
            "variable",
        )
    add(
        "Lambda",
        "TriageMentions and SendOutreach requests (batches of 10 and 5)",
        (per_month / BATCH + per_month_contacts / MAILER_BATCH) / 1e6,
        p["lambda_requests_per_million"],
        "variable",
    )
    add(
        "SQS",
        "MentionsQueue (send, receive, delete in 10s); OutreachQueue, OutcomeQueue per e-mail",
        (per_month * 3 / BATCH + per_month_contacts * SQS_PER_EMAIL) / 1e6,
        p["sqs_requests_per_million"],
        "variable",
    )
    add(
        "DynamoDB",
        "writes (WRU): seen#, decided#; the mailer's person#, idem#, rate#",
        (per_month * work.triage.writes + per_month_contacts * work.mailer.writes) / 1e6,
        p["dynamodb_wru_per_million"],
        "variable",
    )
    add(
        "DynamoDB",
        "reads (RRU, strongly consistent)",
        (per_month * work.triage.reads + per_month_contacts * work.mailer.reads) / 1e6,
        p["dynamodb_rru_per_million"],
        "variable",
    )
    add(
        "DynamoDB",
        "storage and PITR (TTL keeps it to days; ~300 B per item)",
        per_month * 3 * 300 / 1e9 / 10,
        p["dynamodb_storage_gb_month"] + p["dynamodb_pitr_gb_month"],
        "variable",
    )
    log_gb = per_month * work.log_bytes() / 1e9
    add(
        "CloudWatch Logs",
        f"ingestion ({work.log_bytes():.0f} B a mention: decision lines, EMF, REPORT)",
        log_gb,
        p["logs_ingest_gb"],
        "variable",
    )
    add(
        "CloudWatch Logs",
        "storage (LogRetentionDays 30)",
        log_gb,
        p["logs_storage_gb_month"],
        "variable",
    )
    traced = stack.resolve({"Ref": "Tracing"}) == "on"
    traces = (per_month / BATCH + per_month_contacts) if traced else 0
    add(
        "X-Ray",
        f"traces (Tracing={'on: every invocation' if traced else 'off, the default'})",
        traces / 1e6,
        p["xray_traces_per_million"],
        "variable",
    )
    add(
        "KMS",
        f"review link seals ({work.reviewed:.0%} of e-mails: name matches)",
        per_month_contacts * work.reviewed / 1e4,
        p["kms_requests_per_10k"],
        "variable",
    )
    add(
        "SES",
        "e-mails (listed apart)",
        per_month_contacts / 1000,
        p["ses_per_1000_emails"],
        "apart",
    )
    return out, len(scan.series)


def report(
    per_day: float,
    complaint_rate: float = 0.2,
    region: str = "eu-west-1",
    sources: list[str] | None = None,
) -> dict[str, Any]:
    sources = DEFAULT_SOURCES if sources is None else sources
    items, metric_series = lines(per_day, complaint_rate, region, sources)
    fixed = sum(x.monthly_usd for x in items if x.kind == "fixed")
    variable = sum(x.monthly_usd for x in items if x.kind == "variable")
    per_million = variable / (per_day * 30) * 1e6 if per_day else 0.0
    source = inputs()
    return {
        "mentions_per_day": per_day,
        "complaint_rate": complaint_rate,
        "region": region,
        "sources": sources,
        "currency": "USD",
        "prices_as_of": json.loads((HERE / "prices.json").read_text("utf-8"))["as_of"],
        "measured_on": source["measured"]["measured_on"],
        "bench": (source["bench"] or {}).get("when"),
        "fixed_per_month": round(fixed, 2),
        "variable_per_million": round(per_million, 2),
        "monthly_total": round(fixed + variable, 2),
        "ses_per_month": round(sum(x.monthly_usd for x in items if x.kind == "apart"), 2),
        "platform_fees_not_summed": json.loads((HERE / "prices.json").read_text("utf-8"))[
            "platform_fees"
        ],
        "metric_series": metric_series,
        # Each SQS consumer's billed time a record at 128-1024 MB, and its $ per 1M mentions.
        "memory": memory_table(complaint_rate, region),
        "lines": [{k: v for k, v in asdict(x).items()} for x in items],
    }
