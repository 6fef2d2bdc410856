"""Move messages from a DLQ back to its source queue.

SQS `StartMessageMoveTask` where the service offers it (it keeps message ids and
attributes and runs server-side); otherwise a safe receive → send → delete loop that
deletes a message from the DLQ only after the source queue accepted it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from socialcare.errors import SocialcareError

Progress = Callable[[int, int], None]  # (moved so far, total estimate)


class RedriveError(SocialcareError):
    """A server-side move task that did not complete; what it moved stays moved."""


@dataclass
class RedriveResult:
    moved: int
    method: str  # "move-task" | "receive-send-delete"
    failed: int = 0


def depth(sqs: Any, url: str) -> int:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


def arn(sqs: Any, url: str) -> str:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(attrs["Attributes"]["QueueArn"])


def redrive(
    sqs: Any,
    dlq_url: str,
    source_url: str,
    progress: Progress | None = None,
    max_messages: int | None = None,
    poll_s: float = 2.0,
) -> RedriveResult:
    total = depth(sqs, dlq_url)
    progress = progress or (lambda moved, total: None)
    if max_messages is None:
        source_arn = arn(sqs, dlq_url)
        try:
            sqs.start_message_move_task(SourceArn=source_arn, DestinationArn=arn(sqs, source_url))
        except (ClientError, BotoCoreError, NotImplementedError):
            pass  # not offered here (e.g. an emulator): fall back to the safe loop
        else:  # started: from here on an error is reported, never run twice over
            return _follow_move_task(sqs, source_arn, total, progress, poll_s)
    return _receive_send_delete(sqs, dlq_url, source_url, total, progress, max_messages)


def _follow_move_task(
    sqs: Any, source_arn: str, total: int, progress: Progress, poll_s: float
) -> RedriveResult:
    while True:
        tasks = sqs.list_message_move_tasks(SourceArn=source_arn, MaxResults=1)["Results"]
        task = tasks[0] if tasks else {}
        moved = int(task.get("ApproximateNumberOfMessagesMoved", 0))
        progress(moved, int(task.get("ApproximateNumberOfMessagesToMove", total) or total))
        if task.get("Status") in ("COMPLETED", "CANCELLED", "FAILED"):
            if task["Status"] != "COMPLETED":
                reason = task.get("FailureReason") or "no reason given"
                raise RedriveError(f"the SQS move task ended {task['Status']}: {reason}")
            return RedriveResult(moved, "move-task")
        time.sleep(poll_s)


def _receive_send_delete(
    sqs: Any,
    dlq_url: str,
    source_url: str,
    total: int,
    progress: Progress,
    max_messages: int | None,
) -> RedriveResult:
    moved = failed = 0
    limit = total if max_messages is None else min(total, max_messages)
    progress(0, limit)
    while moved + failed < limit:
        batch = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=min(10, limit - moved - failed),
            MessageAttributeNames=["All"],
            VisibilityTimeout=60,
            WaitTimeSeconds=1,
        ).get("Messages", [])
        if not batch:
            break
        entries = [
            {
                "Id": str(i),
                "MessageBody": m["Body"],
                **(
                    {"MessageAttributes": m["MessageAttributes"]}
                    if m.get("MessageAttributes")
                    else {}
                ),
            }
            for i, m in enumerate(batch)
        ]
        sent = sqs.send_message_batch(QueueUrl=source_url, Entries=entries)
        ok = {s["Id"] for s in sent.get("Successful", [])}
        done = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
            for i, m in enumerate(batch)
            if str(i) in ok
        ]
        if done:  # only what the source queue accepted leaves the DLQ
            sqs.delete_message_batch(QueueUrl=dlq_url, Entries=done)
        moved += len(done)
        failed += len(batch) - len(done)
        progress(moved, limit)
    return RedriveResult(moved, "receive-send-delete", failed)
