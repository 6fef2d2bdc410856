"""Cost of the learned triage model (issue 21) by pytest-benchmark (`pytest tests/bench`;
`make bench` reports the same two figures in its table).

- the model alone (features + scoring, the language model apart): ≤ 100 µs a post;
- end to end through `socialcare triage`'s loop (JSON in, language, model, rules, JSON
  out) on 12,000 distinct posts: ≤ 150 µs a post;
- loading the model at cold start (`load_classifier`), reported.
The 12,000 posts are `make bench`'s (socialcare_cli.bench.distinct_posts), which reports
the same two figures beside the CPU's speed at that moment.
"""

from __future__ import annotations

import io
import json
import time
from typing import Any

from socialcare.brand import load_brand
from socialcare.triage import features
from socialcare.triage.learned import load_classifier
from socialcare_cli.bench import distinct_posts
from socialcare_cli.cmd_triage import triage_lines


def test_model_us_per_post(benchmark: Any) -> None:
    clf = load_classifier(load_brand())
    posts = distinct_posts()

    def all_posts() -> None:
        for text in posts:
            toks = features.tokens(text, clf.masker)
            clf.model.score(toks, addressed=False, stars=None)

    benchmark.pedantic(all_posts, rounds=3, warmup_rounds=1)
    per_post = benchmark.stats.stats.mean / len(posts) * 1e6
    benchmark.extra_info["model_us_per_post"] = round(per_post, 1)
    print(f"\nmodel: {per_post:.1f} µs per post over {len(posts)} distinct posts")
    assert per_post <= 100, per_post


def test_triage_us_per_post_end_to_end(benchmark: Any) -> None:
    clf = load_classifier(load_brand())
    lines = [
        json.dumps({"id": n, "text": text}, ensure_ascii=False)
        for n, text in enumerate(distinct_posts())
    ]

    def triage_all() -> None:
        out, err = io.StringIO(), io.StringIO()
        triage_lines(lines, clf, out, err)

    benchmark.pedantic(triage_all, rounds=3, warmup_rounds=0)
    per_post = benchmark.stats.stats.mean / len(lines) * 1e6
    benchmark.extra_info["triage_us_per_post"] = round(per_post, 1)
    print(f"\nsocialcare triage: {per_post:.1f} µs per post over {len(lines)} distinct posts")
    assert per_post <= 150, per_post


def test_model_load(benchmark: Any) -> None:
    brand = load_brand()
    timings: list[float] = []

    def load() -> None:
        started = time.perf_counter()
        load_classifier(brand)
        timings.append((time.perf_counter() - started) * 1000)

    benchmark.pedantic(load, rounds=5, iterations=1)
    benchmark.extra_info["model_load_ms"] = round(min(timings), 1)
    print(f"\nmodel load: {min(timings):.1f} ms (best of 5)")
