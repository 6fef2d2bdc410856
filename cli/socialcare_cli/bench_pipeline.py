"""Pipeline throughput for `make bench`: decisions per second through the emulator's SQS,
divided by the floor SQS itself sets on the same emulator.

The floor is the least any message costs: one SendMessage, one ReceiveMessage and one
DeleteMessage. The pipeline is the real path: mentions sent the way FetchMentions sends
them (batches of ten), then TriageMentions imported as Lambda imports it and driven by
Lambda's poller (batches of ten, partial failures, deletes), deciding each mention against
the state table and the CRM. The demo's sample posts, each copy with its own post id, give
the mix of decisions (complaints, praise, own posts, stale posts, unknown authors).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3

from socialcare.adapters.sqs import SqsQueue
from socialcare.models import Mention
from socialcare_cli import lambda_local
from socialcare_cli.bench_cold import World, world
from socialcare_cli.demo import LogCapture, sample
from socialcare_cli.lambda_local import Handler
from socialcare_cli.servers import materialise
from socialcare_cli.template import Stack

FUNCTION = "TriageMentionsFunction"


def mentions(n: int, posts: list[dict[str, Any]] | None = None) -> list[Mention]:
    """n mentions cycling through `posts` (the demo's sample), each with its own post id."""
    posts, now = posts or sample("posts.json"), datetime.now(UTC)
    out = []
    for i in range(n):
        post = materialise(posts[i % len(posts)], now)
        post["post_id"] = f"{post['post_id']}-bench{i}"
        out.append(Mention.model_validate({**post, "fetch_id": "bench"}))
    return out


def sqs_floor(url: str, bodies: list[str]) -> float:
    """Seconds for one send, one receive and one delete per message, one at a time: all
    sent, then each received and deleted. The pipeline's backlog, as moto's SQS costs
    grow with it (each send and receive scans the queue; real SQS's do not)."""
    sqs = boto3.client("sqs")
    start = time.perf_counter()
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body)
    for _ in range(2 * len(bodies)):  # bounded: a lost message must not hang the bench
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=0)
        if not got.get("Messages"):
            break
        for message in got["Messages"]:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return time.perf_counter() - start


def drain(
    stack: Stack,
    batch: list[Mention],
    wrap: Callable[[Handler], Handler] = lambda h: h,
    wave: int = 0,
) -> tuple[float, list[dict[str, Any]]]:
    """Send the mentions to MentionsQueue and drive TriageMentions (`wrap`ped, e.g. timed)
    until the queue is empty: the seconds it took and the lines the handler wrote. With
    `wave`, that many at a time, each wave drained before the next is sent: moto's SQS
    scans the whole queue on every send and receive, so a backlog of 10k costs it
    quadratic time that real SQS does not spend."""
    url, arn = stack.physical["MentionsQueue"], stack.attributes[("MentionsQueue", "Arn")]
    _, handler = lambda_local.load_handler(stack, FUNCTION)
    queue, size = SqsQueue(boto3.client("sqs"), url), wave or len(batch) or 1
    capture = LogCapture()
    with capture.active():
        start = time.perf_counter()
        for first in range(0, len(batch), size):
            queue.send_all(batch[first : first + size])
            lambda_local.poll(
                url,
                arn,
                wrap(handler),
                function_name=FUNCTION,
                max_batches=2 * size // 10 + 100,  # room for retries, still bounded
            )
        elapsed = time.perf_counter() - start
    return elapsed, capture.lines()


def pipeline(w: World, batch: list[Mention]) -> tuple[float, int]:
    """Seconds to send the mentions and decide them all; and how many were decided."""
    elapsed, lines = drain(w.reset(), batch)
    return elapsed, sum(1 for line in lines if line.get("message") == "decision")


def measure(n: int, repeats: int, progress: Callable[[str], None]) -> dict[str, Any]:
    """Alternating floor and pipeline runs; medians of each."""
    batch = mentions(n)
    bodies = [m.model_dump_json() for m in batch]
    floors, runs, decided = [], [], []
    with world() as w:
        for i in range(repeats):
            progress(f"pipeline: run {i + 1} of {repeats} ({n} mentions)")
            stack = w.reset()
            floors.append(sqs_floor(stack.physical["MentionsQueue"], bodies))
            elapsed, count = pipeline(w, batch)
            runs.append(elapsed)
            decided.append(count)
    floor_s, pipeline_s = statistics.median(floors), statistics.median(runs)
    return {
        "ratio_to_sqs_floor": round(floor_s / pipeline_s, 2),
        "decisions_per_s": round(n / pipeline_s, 1),
        "sqs_floor_per_s": round(n / floor_s, 1),
        "mentions": n,
        "decided": min(decided),
        "repeats": repeats,
    }
