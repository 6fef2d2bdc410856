"""An outage's burst through the emulator: `python -m socialcare_cli.cost.burst --mentions N`.

Incident mode is engaged as production engages it: the outage complaint-spike alarm's
notification to the IncidentSwitch function, which writes IncidentParameter. Then N
mentions (mostly outage complaints, the rest the demo's usual mix, each with its own post
id) go to MentionsQueue, a wave of `--wave` at a time, and TriageMentions drains them
through the local poller (bench_pipeline's machinery). Checked after: every mention has
exactly one decision (by its hashed post id, from the decision lines), MentionsQueue and
its DLQ are empty, and no outreach request (what the mailer e-mails) is for an
incident-topic complaint.

The drain time at 100k is worked out from the measured time a record takes in the handler,
TriageMentions' `MaximumConcurrency` (template.yaml) and the CRM's rate limit (docs/cost.md).
Progress on stderr; one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import boto3

from socialcare.brand import load_brand
from socialcare.keyring import StackHasher, StackKeys
from socialcare.models import Mention
from socialcare.triage.learned import select_classifier
from socialcare_cli import bench_pipeline, lambda_local
from socialcare_cli.bench_cold import SAMPLE_HASH_KEY, world
from socialcare_cli.cost.model import Work, inputs
from socialcare_cli.demo import LogCapture, alarm_notification, sample, sns_event
from socialcare_cli.lambda_local import Handler
from socialcare_cli.template import Stack

INCIDENT_TOPIC = "outage"
OUTAGE_SHARE = 0.8  # of the burst: outage complaints; the rest the sample's usual mix
CRM_RATE_PER_S = 10.0  # HubSpot's is 100 per 10 s (docs/cost.md)
# Sent a wave at a time, each drained before the next (bench_pipeline.drain says why);
# a fetch run sends its page's mentions the same way, while earlier ones are decided.
WAVE = 1000
SCREENED = {"not_complaint", "own_account", "repost", "stale", "duplicate"}  # no CRM read


def burst_posts(n: int) -> list[Mention]:
    """N mentions: OUTAGE_SHARE of them the sample's outage complaints (as the shipped
    classifier reads them), the rest cycling through the whole sample."""
    posts = sample("posts.json")
    classifier = select_classifier(load_brand(), "")
    outage = []
    for post, mention in zip(posts, bench_pipeline.mentions(len(posts), posts), strict=True):
        verdict = classifier.classify(
            mention.text, mention.lang, addressed=mention.addressed, stars=mention.stars
        )
        if verdict.complaint and INCIDENT_TOPIC in verdict.topics:
            outage.append(post)
    if not outage:
        raise SystemExit("burst: the sample has no outage complaint to repeat")
    share = round(n * OUTAGE_SHARE)
    batch = bench_pipeline.mentions(share, outage) + bench_pipeline.mentions(n - share, posts)
    # Each its own post id across both parts: the second part's ids are renumbered.
    return [m.model_copy(update={"post_id": f"{m.post_id}-{i}"}) for i, m in enumerate(batch)]


def engage_incident(stack: Stack) -> list[str]:
    """The outage spike alarm's notification, handled by IncidentSwitch: its topics now on."""
    _, switch = lambda_local.load_handler(stack, "IncidentSwitchFunction")
    with LogCapture().active():  # stdout is the summary's
        out = switch(
            sns_event(alarm_notification(stack, INCIDENT_TOPIC), "arn:ops"),
            lambda_local.FakeContext("IncidentSwitchFunction"),
        )
    return list(out["incident_topics"])


class Timed:
    """Wraps the handler: seconds and records inside it, progress every `every` records."""

    def __init__(self, total: int, progress: Callable[[str], None], every: int = 1000) -> None:
        self.total, self.progress, self.every = total, progress, every
        self.seconds, self.records, self.started = 0.0, 0, time.perf_counter()

    def __call__(self, handler: Handler) -> Handler:
        def timed(event: dict[str, Any], context: Any) -> Any:
            start = time.perf_counter()
            try:
                return handler(event, context)
            finally:
                self.seconds += time.perf_counter() - start
                before, self.records = self.records, self.records + len(event["Records"])
                if self.records // self.every > before // self.every:
                    self.progress(
                        f"burst: {self.records} of {self.total} records handled, "
                        f"{time.perf_counter() - self.started:.0f} s"
                    )

        return timed


def queue_depth(url: str) -> int:
    """Messages left on a queue: visible, in flight, and delayed (a mention sent back to
    wait for the CRM is delayed: "lost" with an empty queue would be misleading)."""
    attrs = boto3.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    got = attrs["Attributes"]
    return sum(
        int(got.get(name, "0"))
        for name in (
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        )
    )


def dead_letter_url(url: str) -> str:
    sqs = boto3.client("sqs")
    policy = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])
    arn = json.loads(policy["Attributes"]["RedrivePolicy"])["deadLetterTargetArn"]
    return str(sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[1])["QueueUrl"])


def outreach_requests(url: str) -> list[dict[str, Any]]:
    """Everything on OutreachQueue (hidden once read: each is read once)."""
    sqs, out = boto3.client("sqs"), []
    while got := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=900
    ).get("Messages"):
        out += [json.loads(m["Body"]) for m in got]
    return out


def drain_estimate(
    mentions: int, per_record_s: float, concurrency: int, crm_per_mention: float, crm_rate: float
) -> dict[str, Any]:
    """docs/cost.md's: the slower of Lambda (records one after another in each of
    `concurrency` pollers) and the CRM (its rate limit over the requests the mix makes)."""
    compute_s = mentions * per_record_s / concurrency
    crm_s = mentions * crm_per_mention / crm_rate
    return {
        "mentions": mentions,
        "lambda_bound_s": round(compute_s),
        "crm_bound_s": round(crm_s),
        "drain_s": round(max(compute_s, crm_s)),
        "bound_by": "crm" if crm_s > compute_s else "lambda",
    }


def check(
    batch: list[Mention], lines: list[dict[str, Any]], outreach: list[dict[str, Any]]
) -> dict[str, Any]:
    """Nothing lost, nothing twice, no e-mail on the way for an incident-topic complaint."""
    hasher = StackHasher(StackKeys.fixed(SAMPLE_HASH_KEY))  # World.reset's HashKeySecret
    expected = {hasher.mention(m.key) for m in batch}
    decisions = [line for line in lines if line.get("message") == "decision"]
    per_id = Counter(str(d.get("mention_id")) for d in decisions)
    incident_ids = {d["mention_id"] for d in decisions if d.get("reason") == "incident_mode"}
    contacts = sum(1 for d in decisions if d.get("reason") == "contact")
    held_back = [
        r for r in outreach if r["mention_id"] in incident_ids or INCIDENT_TOPIC in r["topics"]
    ]
    return {
        "mentions": len(batch),
        "decided": len(expected & set(per_id)),
        "lost": len(expected - set(per_id)),
        "duplicated": sum(c - 1 for c in per_id.values() if c > 1),
        "unexpected": len(set(per_id) - expected),
        "by_reason": dict(Counter(str(d.get("reason")) for d in decisions).most_common()),
        "outreach_requests": len(outreach),
        "contacts_without_request": contacts - len(outreach),
        "emails_for_incident_topic": len(held_back),
    }


def run(
    n: int, crm_rate: float, progress: Callable[[str], None], wave: int = WAVE
) -> dict[str, Any]:
    batch = burst_posts(n)
    with world() as w:
        stack = w.reset()
        topics = engage_incident(stack)
        progress(f"burst: incident mode on for {topics}; sending {n} mentions")
        timed = Timed(n, progress)
        wall_s, lines = bench_pipeline.drain(stack, batch, timed, wave)
        crm_calls = w.routes[1].target.calls  # world()'s routes: the replay source, the CRM
        mentions_url = stack.physical["MentionsQueue"]
        left = {
            "mentions_queue": queue_depth(mentions_url),
            "dead_letter_queue": queue_depth(dead_letter_url(mentions_url)),
        }
        outreach = outreach_requests(stack.physical["OutreachQueue"])
    out = {**check(batch, lines, outreach), "incident_topics": topics, "left_on_queues": left}
    _, event = stack.sqs_event(bench_pipeline.FUNCTION)
    concurrency = int(event["ScalingConfig"]["MaximumConcurrency"])
    per_record = timed.seconds / max(1, timed.records)
    crm_per_mention = crm_calls / n
    # The cost model's record at the template's memory, for the same share of CRM reads.
    work = Work(inputs()["measured"], stack, _crm_share(out["by_reason"], n))
    memory = work.memory_mb(bench_pipeline.FUNCTION)
    modelled = work.triage.seconds(memory)
    return {
        **out,
        "wave": wave,
        "wall_s": round(wall_s, 1),
        "per_record_s": round(per_record, 4),
        "records_handled": timed.records,
        "crm_requests_per_mention": round(crm_per_mention, 2),
        "maximum_concurrency": concurrency,
        "crm_rate_per_s": crm_rate,
        "drain_100k": drain_estimate(100_000, per_record, concurrency, crm_per_mention, crm_rate),
        "modelled_per_record_s": round(modelled, 4),
        "modelled_memory_mb": memory,
        "drain_100k_modelled": drain_estimate(
            100_000, modelled, concurrency, crm_per_mention, crm_rate
        ),
    }


def _crm_share(by_reason: dict[str, int], n: int) -> float:
    return sum(c for r, c in by_reason.items() if r not in SCREENED) / max(1, n)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m socialcare_cli.cost.burst", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--mentions", type=int, default=10_000, help="mentions in the burst")
    parser.add_argument(
        "--crm-rate", type=float, default=CRM_RATE_PER_S, help="the CRM's requests a second"
    )
    parser.add_argument(
        "--wave", type=int, default=WAVE, help="mentions sent before each drain (0: all at once)"
    )
    args = parser.parse_args(argv)
    if args.mentions < 1 or args.crm_rate <= 0 or args.wave < 0:
        parser.error("--mentions must be ≥ 1, --crm-rate > 0 and --wave ≥ 0")
    err = sys.stderr  # the drain captures the handler's output, progress goes here

    def progress(message: str) -> None:
        print(message, file=err, flush=True)

    summary = run(args.mentions, args.crm_rate, progress, args.wave)
    print(json.dumps(summary))
    ok = summary["lost"] == summary["duplicated"] == summary["emails_for_incident_topic"] == 0
    return 0 if ok and not any(summary["left_on_queues"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
