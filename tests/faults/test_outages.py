"""Faults of the services around the functions: a platform that says 429 or usage-capped
in the middle of a sweep, SES throttling, a mailer killed after SES accepted the e-mail,
conditional writes racing on the state table, and the emulator itself restarted while
the pipeline runs."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import boto3
import pytest

from socialcare.adapters.dynamodb import DynamoState
from socialcare.errors import MailThrottled
from socialcare.outreach import mailer as outreach
from socialcare.sources import parse_page
from socialcare.sources.auth import TOKENS
from socialcare.sources.fetch import pause_key
from socialcare_cli import lambda_local, local_aws, platforms, servers
from socialcare_cli.template import Stack, load_template
from tests.faults.harness import Emulator, captured, consumer, depth, row, sent_to
from tests.integration.platform_cases import BY_NAME, SECRETS, load

CONTACTS = {"mette.jensen@example.net", "oliver.smith@example.net", "emma.wilson@example.net"}
TITLES = {"x": "X", "bluesky": "Bluesky", "reddit": "Reddit"}


def fetch_replay(handler: Any) -> None:
    handler("FetchMentionsFunction")({"source": "replay"}, lambda_local.FakeContext("f"))


def queued_ids(stack: Stack) -> list[str]:
    sqs = boto3.client("sqs")
    out: list[str] = []
    while batch := sqs.receive_message(
        QueueUrl=stack.physical["MentionsQueue"], MaxNumberOfMessages=10, VisibilityTimeout=60
    ).get("Messages", []):
        out += [json.loads(m["Body"])["post_id"] for m in batch]
    return out


# ------------------------------------------------------------------ platforms
@pytest.fixture
def platform(aws: str, request: pytest.FixtureRequest) -> Iterator[tuple[str, Stack, Any, Any]]:
    """One platform's stand-in with fresh posts, the stack reading it, its fetch handler."""
    name = request.param
    case = BY_NAME[name]
    pages = platforms.fresh([load(f"{name}/{p}") for p in case.pages], name)
    fake = case.fake(pages)
    fake.served = pages  # as served: times moved, ids re-minted
    with ExitStack() as context:
        url = context.enter_context(servers.serve(fake))
        stack = Stack(load_template(), overrides={f"Enable{TITLES[name]}": "true"})
        local_aws.provision(stack)
        secret = f"{TITLES[name]}SourceSecret"
        local_aws.set_secret(stack, secret, json.dumps(SECRETS[f"{name}-secret"]))
        TOKENS.clear()
        env = {
            "HTTP_BACKOFF_S": "0.001",
            "X_API_URL": url,
            "BLUESKY_SERVICE_URL": url,
            "REDDIT_AUTH_URL": url,
            "REDDIT_API_URL": url,
        }
        fetch = lambda_local.load_handler(stack, "FetchMentionsFunction", env)[1]
        yield name, stack, fake, lambda: fetch({"source": name}, lambda_local.FakeContext("f"))


@pytest.mark.parametrize(
    ("platform", "answer"),
    [("x", "429"), ("bluesky", "429"), ("reddit", "429"), ("x", "usage-capped")],
    indirect=["platform"],
)
def test_a_platform_refusing_mid_sweep_loses_and_repeats_nothing(
    platform: tuple[str, Stack, Any, Any], answer: str
) -> None:
    name, stack, fake, run = platform
    case = BY_NAME[name]
    body = case.rate_limit_body if answer == "429" else "usage-capped-429-documented.json"
    with row(f"{name}: {answer} mid-sweep", "post ids queued") as r:
        newer = platforms.fresh([load(f"{name}/{case.newer}")], name)[0]
        fake.fail_next = [None, (429, {}, json.dumps(load(f"{name}/{body}")).encode())]
        first = run()
        fake.add(newer)  # posts arrive while the source waits
        stops = [first["stopped"]]
        if answer == "usage-capped":
            stops.append(run()["stopped"])  # paused: asks X nothing
            boto3.client("dynamodb").delete_item(  # the top-up, as the runbook says
                TableName=stack.physical["StateTable"], Key={"pk": {"S": pause_key(name)}}
            )
        for _ in range(6):  # later schedules, until a sweep finds nothing new
            report = run()
            stops.append(report["stopped"])
            if report["stopped"] == "done" and report["fetched"] == 0:
                break
        got = Counter(queued_ids(stack))
        pages = [*fake.served, newer]
        expected = {m.post_id for page in pages for m in parse_page(name, page)[0]}
        r.cases = len(expected)
        r.lost = len(expected - set(got))
        r.duplicated = sum(n - 1 for n in got.values())
        r.note = "runs stopped: " + ", ".join(stops)
        assert stops[0] == ("rate_limited" if answer == "429" else "usage_capped")
    assert (r.lost, r.duplicated) == (0, 0)


# ------------------------------------------------------------------ SES
class Throttling:
    """SES that throttles each message's first `times` sends, then sends it."""

    def __init__(self, real: Any, times: int) -> None:
        self.real, self.times = real, times
        self.tries: Counter[str] = Counter()

    def send(self, email: Any) -> str:
        self.tries[email.to] += 1
        if self.tries[email.to] <= self.times:
            raise MailThrottled("SES throttled: TooManyRequestsException")
        return str(self.real.send(email))


def test_ses_throttling_backs_off_and_sends_once(
    quick: Stack, handler: Any, aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outreach, "throttle_delay_s", lambda times: 1)  # 15-30 s.. deployed
    with row("SES throttling", "e-mails per person") as r:
        fetch_replay(handler)
        consumer(quick, "TriageMentionsFunction").drain()
        mailer = consumer(quick, "SendOutreachFunction")
        module, mailer.handlers[0] = lambda_local.load_handler(quick, "SendOutreachFunction")
        ses = Throttling(module.runtime.deps.mailer, times=2)
        module.runtime.deps.mailer = ses
        with captured() as out:
            mailer.drain(idle_s=3)
        emails = sent_to(aws)
        r.cases = len(CONTACTS)
        r.lost = len(CONTACTS - set(emails)) + depth(quick, "OutreachDeadLetterQueue")
        r.duplicated = sum(n - 1 for n in emails.values())
        r.note = f"{out.metric('MailDeferred')} throttled sends waited on the queue"
    assert (r.lost, r.duplicated) == (0, 0)


class Killed(BaseException):
    """Lambda stopping the process (a timeout): no except or finally of ours runs."""


class LastSeconds(lambda_local.FakeContext):
    """Room to start the record, then an invocation about to end: the idempotency record's
    in-progress window (the rest of the invocation) is a second long."""

    def get_remaining_time_in_millis(self) -> int:
        self.calls = getattr(self, "calls", 0) + 1
        return 25_000 if self.calls == 1 else 1_000


def test_a_mailer_killed_after_ses_accepted_never_sends_twice(
    quick: Stack, handler: Any, aws: str, crm: Any
) -> None:
    with row("killed after SES accepted", "e-mails") as r:
        fetch_replay(handler)
        consumer(quick, "TriageMentionsFunction").drain()
        module, mailer = lambda_local.load_handler(quick, "SendOutreachFunction")
        real = module.runtime.deps.mailer

        class DiesAfterSending:
            def send(self, email: Any) -> str:
                real.send(email)  # SES has it; the "sent" state write never happens
                raise Killed

        module.runtime.deps.mailer = DiesAfterSending()
        url, arn = quick.physical["OutreachQueue"], quick.attributes[("OutreachQueue", "Arn")]
        got = boto3.client("sqs").receive_message(QueueUrl=url, AttributeNames=["All"])
        event = {"Records": [lambda_local._event_record(got["Messages"][0], arn)]}
        with pytest.raises(Killed):
            mailer(event, LastSeconds("m"))
        module.runtime.deps.mailer = real
        time.sleep(2.1)  # the in-progress window and the visibility timeout pass
        with captured() as out:
            retry = consumer(quick, "SendOutreachFunction")
            retry.handlers = [mailer]
            retry.drain()
        emails = sent_to(aws)
        r.cases = len(CONTACTS)
        r.lost = len(CONTACTS - set(emails))
        r.duplicated = sum(n - 1 for n in emails.values())
        unknown = sum(1 for x in out.records() if x.get("kind") == "unknown" and "_aws" in x)
        r.note = (
            f"window: SES accepted -> 'sent' written; a stop there is never resent: "
            f"{unknown} outcome-unknown alarm, that e-mail's CRM record not written"
        )
    assert (r.lost, r.duplicated) == (0, 0)


# ------------------------------------------------------------------ DynamoDB
def test_conditional_writes_race_on_the_emulator(aws: str, stack: Stack) -> None:
    table = stack.physical["StateTable"]
    threads, rounds = 8, 10
    with row("DynamoDB conditional-write races", "winners per key, counter") as r:
        clients = [boto3.session.Session().client("dynamodb") for _ in range(threads)]
        states = [DynamoState(client, table) for client in clients]  # one per container
        barrier = threading.Barrier(threads)
        wins: Counter[str] = Counter()
        lock = threading.Lock()

        def contend(index: int) -> None:
            state = states[index]
            for n in range(rounds):
                barrier.wait()
                for key, reentrant in ((f"person#race{n}", False), (f"seen#race{n}", True)):
                    if state.claim(key, f"owner-{index}", 60, reentrant=reentrant):
                        with lock:
                            wins[key] += 1
                state.incr("rate#race", ttl_s=60)

        workers = [threading.Thread(target=contend, args=(i,)) for i in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        keys = [f"{kind}#race{n}" for n in range(rounds) for kind in ("person", "seen")]
        item = boto3.client("dynamodb").get_item(TableName=table, Key={"pk": {"S": "rate#race"}})
        counted = int(item["Item"]["n"]["N"])
        r.cases = len(keys) * threads + threads * rounds
        r.lost = sum(1 for k in keys if wins[k] == 0) + max(0, threads * rounds - counted)
        r.duplicated = sum(wins[k] - 1 for k in keys if wins[k] > 1)
        r.duplicated += max(0, counted - threads * rounds)
    assert (r.lost, r.duplicated) == (0, 0)


# ------------------------------------------------------------------ the emulator
@pytest.mark.parametrize("stage", ["triage", "mailer"])
def test_the_emulator_restarted_mid_run(
    quick: Stack, handler: Any, aws: str, emulator: Emulator, stage: str
) -> None:
    with row(f"emulator restarted during {stage}", "decision lines, e-mails, DLQ") as r:
        fetch_replay(handler)
        triage = consumer(quick, "TriageMentionsFunction", containers=2)
        mailer = consumer(quick, "SendOutreachFunction", containers=2)
        triage.batch_size = mailer.batch_size = 1  # more calls for the outage to hit
        with captured() as out:
            if stage == "mailer":
                triage.drain()
            outage = threading.Timer(0.2, emulator.restart, kwargs={"down_s": 2.0})
            outage.start()
            (triage if stage == "triage" else mailer).drain(idle_s=4)
            outage.join()
            triage.drain(idle_s=3)
            mailer.drain(idle_s=3)
        decided = Counter(x["mention_id"] for x in out.decisions())
        emails = sent_to(aws)
        r.cases = 5
        r.lost = 5 - len(decided) + len(CONTACTS - set(emails))
        r.lost += depth(quick, "MentionsDeadLetterQueue") + depth(quick, "OutreachDeadLetterQueue")
        r.duplicated = sum(n - 1 for n in decided.values()) + sum(n - 1 for n in emails.values())
        met = Counter(triage.errors + mailer.errors)
        met.update(x["error"] for x in out.records() if x.get("message", "").startswith("record"))
        r.note = "down 2 s; errors met: " + (
            ", ".join(f"{k} {v}" for k, v in met.items()) or "none"
        )
    assert (r.lost, r.duplicated) == (0, 0)
