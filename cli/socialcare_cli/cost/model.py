"""The cost model: a line per priced item, fixed $/month and variable $ per 1M mentions.

Counts come from template.yaml (alarms, dashboards, keys, secrets, schedules, functions)
and the code (metric series); per-mention work from measured.json (or bench-out/bench.json
for the cold starts, when present); prices from prices.json. docs/cost.md explains each.
"""

from __future__ import annotations

import json
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


def _priced(scan: series.Scan, sources: list[str]) -> int:
    """Series a deployment with `sources` enabled can emit: CloudWatch bills only the
    series that receive data, so another source's heartbeat costs nothing."""
    return sum(1 for _, dims in scan.series if all(v in sources for k, v in dims if k == "source"))


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
    add(
        "CloudWatch",
        f"custom metric series ({len(scan.series)} in the code; sources: "
        f"{','.join(sources) or 'none'})",
        _priced(scan, sources),
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
    memory_gb = float(stack.template["Globals"]["Function"]["MemorySize"]) / 1024
    fetch_s = fetch["cpu_s"] / fetch["invocations"] + API_CALL_S * sum(fetch["calls"].values())
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

    # --- variable: per mention, from the measured run
    triage = m["functions"]["TriageMentionsFunction"]
    mailer = m["functions"]["SendOutreachFunction"]
    contacts = complaint_rate * CONTACTS_PER_COMPLAINT

    def per_record(f: dict[str, Any], prefix: str) -> float:
        return sum(n for k, n in f["calls"].items() if k.startswith(prefix)) / f["records"]

    def seconds(f: dict[str, Any]) -> float:
        return (f["cpu_s"] + API_CALL_S * sum(f["calls"].values())) / f["records"]

    add(
        "Lambda",
        "TriageMentions (GB-s)",
        per_month * seconds(triage) * memory_gb,
        p["lambda_arm64_gb_s"],
        "variable",
    )
    add(
        "Lambda",
        "TriageMentions (requests, batches of 10)",
        per_month / BATCH / 1e6,
        p["lambda_requests_per_million"],
        "variable",
    )
    add(
        "Lambda",
        "SendOutreach (GB-s)",
        per_month * contacts * seconds(mailer) * memory_gb,
        p["lambda_arm64_gb_s"],
        "variable",
    )
    add(
        "Lambda",
        "SendOutreach (requests)",
        per_month * contacts / 1e6,
        p["lambda_requests_per_million"],
        "variable",
    )
    sqs = per_month * (3 / BATCH) + per_month * contacts * 3  # send, receive, delete
    add(
        "SQS",
        "MentionsQueue and OutreachQueue requests (batched)",
        sqs / 1e6,
        p["sqs_requests_per_million"],
        "variable",
    )
    wru = per_record(triage, "dynamodb:PutItem") + per_record(triage, "dynamodb:UpdateItem")
    wru_mail = per_record(mailer, "dynamodb:PutItem") + per_record(mailer, "dynamodb:UpdateItem")
    add(
        "DynamoDB",
        "writes (WRU): decided#, seen#, person#, rate#",
        per_month * (wru + contacts * wru_mail) / 1e6,
        p["dynamodb_wru_per_million"],
        "variable",
    )
    rru = per_record(triage, "dynamodb:GetItem") + contacts * per_record(mailer, "dynamodb:GetItem")
    add(
        "DynamoDB",
        "reads (RRU, strongly consistent)",
        per_month * rru / 1e6,
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
    log_gb = per_month * (m["log_bytes_per_mention"] + LAMBDA_LOG_BYTES / BATCH) / 1e9
    add(
        "CloudWatch Logs",
        "ingestion (decision lines, EMF, REPORT)",
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
    traces = (per_month / BATCH + per_month * contacts) if traced else 0
    add(
        "X-Ray",
        f"traces (Tracing={'on: every invocation' if traced else 'off, the default'})",
        traces / 1e6,
        p["xray_traces_per_million"],
        "variable",
    )
    add(
        "KMS",
        "review link seals and SNS data keys",
        per_month * contacts / 1e4,
        p["kms_requests_per_10k"],
        "variable",
    )
    add(
        "SES",
        "e-mails (listed apart)",
        per_month * contacts / 1000,
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
        "lines": [{k: v for k, v in asdict(x).items()} for x in items],
    }
