"""The shadow digest as deployed: triage (from its queue) puts each decision on
DigestQueue; the digest schedule's target, invoked with the schedule's input, sends one
e-mail to the agents' mailbox and empties the queue; its mark-wrong links work through
MarkWrong's Function URL (GET changes nothing, POST records once, a forged link is
refused) and the mark is audited without content. Runs after test_deployed_stack.py.

Emulator gap: MiniStack keeps an e-mail's text and HTML parts, not its attachments, so
labels.jsonl is checked on moto (tests/integration/test_digest.py).
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
import requests

from socialcare.operations.feedback import wrong_key
from tests.conftest import load_json
from tests.e2e import emulator
from tests.e2e.conftest import AGENTS, Deployed
from tests.e2e.test_deployed_stack import as_message, queue_depth
from tests.e2e.test_side_functions import state_item, triage_reasons

pytestmark = pytest.mark.e2e
WAIT_S = 90


@pytest.fixture(scope="module")
def digest(deployed: Deployed) -> tuple[dict[str, Any], dict[str, Any], str]:
    """A complaint triaged by the deployed stack, then the digest sent as scheduled:
    (the post, the digest e-mail, the post's mention id)."""
    post = {**load_json("posts.json")[4], "post_id": f"digest-{uuid.uuid4().hex[:8]}"}
    post["url"] = f"https://x.com/emmawilson/status/{post['post_id']}"
    deployed.client("sqs").send_message(
        QueueUrl=deployed.resources["MentionsQueue"], MessageBody=as_message(post)
    )
    mention = deployed.hasher.mention(f"x:{post['post_id']}")
    emulator.wait_for(
        lambda: triage_reasons(deployed, mention), WAIT_S, "triage", explain=deployed.explain
    )
    assert queue_depth(deployed, "DigestQueue") >= 1

    schedule = deployed.client("scheduler").get_schedule(
        Name=deployed.resources["SendDigestFunctionDigestSchedule"]
    )
    target = deployed.client("lambda").get_function(
        FunctionName=deployed.resources["SendDigestFunction"]
    )["Configuration"]["FunctionArn"]
    assert schedule["State"] == "ENABLED" and schedule["Target"]["Arn"] == target
    assert schedule["ScheduleExpression"] == "rate(1 day)"
    before = deployed.emails_to(AGENTS)  # the review copies of test_review_links.py
    out = deployed.client("lambda").invoke(
        FunctionName=target, Payload=schedule["Target"].get("Input", "{}").encode()
    )
    report = json.loads(out["Payload"].read())
    assert "FunctionError" not in out, report
    (email,) = [m for m in deployed.emails_to(AGENTS) if m not in before]
    return post, email, mention


def test_one_e_mail_to_the_agents_lists_the_decision_and_empties_the_queue(
    deployed: Deployed, digest: tuple[dict[str, Any], dict[str, Any], str]
) -> None:
    post, email, _ = digest
    assert post["url"] in email["BodyText"] and post["url"] in email["BodyHtml"]
    assert "decisions" in email["Subject"]
    assert queue_depth(deployed, "DigestQueue") == 0
    logged = deployed.log_lines("SendDigestFunction")
    assert any('"digest sent"' in line for line in logged)
    assert not [line for line in logged if post["text"] in line]


def test_a_mark_wrong_link_records_once_audited_without_content(
    deployed: Deployed, digest: tuple[dict[str, Any], dict[str, Any], str]
) -> None:
    post, email, mention = digest
    base = deployed.outputs["MarkWrongUrl"]
    links = re.findall(re.escape(base) + r"\?token=(\S+)", email["BodyText"])
    tokens = [t for t in links if t.startswith(mention)]
    assert len(tokens) == 1
    url = deployed.function_url("MarkWrongUrl")
    token = requests.utils.unquote(tokens[0])

    page = requests.get(url, params={"token": token}, timeout=30)
    assert page.status_code == 200 and '<form method="post"' in page.text
    assert state_item(deployed, wrong_key(mention)) is None  # GET changes nothing
    forged = token[:-1] + ("0" if token[-1] != "0" else "1")
    assert requests.post(url, data={"token": forged}, timeout=30).status_code == 403
    assert state_item(deployed, wrong_key(mention)) is None

    first = requests.post(url, data={"token": token}, timeout=30)
    second = requests.post(url, data={"token": token}, timeout=30)
    assert "Thanks, noted" in first.text and "Already noted" in second.text
    assert state_item(deployed, wrong_key(mention))
    marks = deployed.records("MarkWrongFunction", "decision marked wrong")
    assert [(m["mention_id"], m["first"]) for m in marks] == [(mention, True), (mention, False)]
    written = deployed.log_lines("MarkWrongFunction")
    assert not [line for line in written if post["text"] in line or post["url"] in line]
