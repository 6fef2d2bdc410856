"""Cost of the triage classifier: CPU per post, and its import + cold start.

Targets (issue 5): well under 1 ms per post for rules plus language detection; the
classifier's own import and set-up, beyond boto3 and Powertools, under 50 ms.
Run with `make bench`.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from typing import Any

from socialcare.brand import load_brand
from socialcare.triage.classifier import RuleClassifier
from tests.conftest import TESTS

TEXTS = [
    json.loads(line)["text"]
    for line in (TESTS / "data" / "devset.jsonl").read_text("utf-8").splitlines()
    if line.strip()
]

# Loads what every function loads anyway (boto3, Powertools, pydantic, the brand), then
# times importing the classifier, building it (lexicons + fastText model) and one post.
COLD_START = """
import time
import boto3
from aws_lambda_powertools import Logger, Metrics
from socialcare.brand import load_brand
from socialcare import models
brand = load_brand()
t0 = time.perf_counter()
from socialcare.triage.classifier import RuleClassifier
RuleClassifier(brand).classify("Lynet er nede igen")
print((time.perf_counter() - t0) * 1000)
"""


def test_cpu_per_post(benchmark: Any) -> None:
    clf = RuleClassifier(load_brand())

    def all_posts() -> None:
        for text in TEXTS:
            clf.classify(text)  # language detected, no hint

    benchmark.pedantic(all_posts, rounds=20, warmup_rounds=2)
    per_post_us = benchmark.stats.stats.mean / len(TEXTS) * 1e6
    benchmark.extra_info["us_per_post"] = round(per_post_us, 1)
    print(f"\n{per_post_us:.1f} µs per post over {len(TEXTS)} dev-set posts")
    assert per_post_us < 250, per_post_us  # target: well under 1 ms


def test_import_and_cold_start(benchmark: Any) -> None:
    timings: list[float] = []

    def cold_start() -> None:
        out = subprocess.run(  # noqa: S603
            [sys.executable, "-c", COLD_START], capture_output=True, text=True, check=True
        ).stdout
        timings.append(float(out.strip().splitlines()[-1]))

    benchmark.pedantic(cold_start, rounds=5, iterations=1)
    median_ms = statistics.median(timings)
    benchmark.extra_info["import_and_init_ms"] = round(median_ms, 1)
    print(f"\nclassifier import + set-up + first post: {median_ms:.1f} ms (median of 5)")
    assert median_ms < 50, timings
