"""Evaluate the triage classifier: precision, recall and F1 per language on the dev set,
on the general-consumer English set (`--brand any`), and macro-F1/F1/accuracy on the public
complaints benchmark (`socialcare triage --brand any`).

    .venv/bin/python scripts/evaluate_triage.py                       # dev set + consumer set
    .venv/bin/python scripts/evaluate_triage.py --errors              # + misses (tune split only)
    .venv/bin/python scripts/evaluate_triage.py --benchmark \\
        ../shared/fixtures/benchmarks/complaints-social-media/complaints-data.csv

Both run the posts through the same code as `socialcare triage` (cmd_triage.triage_lines).
The dev set's `heldout` split was written before any tuning; its errors are not printed,
so that tuning never looks at it. The same holds for the consumer set
(tests/data/devset-consumer-en.jsonl: posts to all kinds of consumer brands, written before
its cues; half of it, chosen by a hash of the id, is held out).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

from socialcare_cli.cmd_triage import build_classifier, triage_lines

ROOT = Path(__file__).resolve().parent.parent
DEVSET = ROOT / "tests" / "data" / "devset.jsonl"
CONSUMER_SET = ROOT / "tests" / "data" / "devset-consumer-en.jsonl"


def run_triage(items: list[dict[str, object]], brand: str | None) -> dict[str, dict[str, object]]:
    classifier = build_classifier(brand)
    out, err = io.StringIO(), io.StringIO()
    lines = (
        json.dumps({k: item[k] for k in ("id", "text", "lang") if k in item}) for item in items
    )
    _, bad = triage_lines(lines, classifier, out, err)
    if bad:
        sys.exit(f"bad input lines:\n{err.getvalue()}")
    return {str(r["id"]): r for r in map(json.loads, out.getvalue().splitlines())}


def prf(gold: list[bool], pred: list[bool]) -> dict[str, float]:
    tp = sum(g and p for g, p in zip(gold, pred, strict=True))
    fp = sum(p and not g for g, p in zip(gold, pred, strict=True))
    fn = sum(g and not p for g, p in zip(gold, pred, strict=True))
    tn = len(gold) - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    # F1 of the "not a complaint" class, for macro-F1
    p0 = tn / (tn + fn) if tn + fn else 0.0
    r0 = tn / (tn + fp) if tn + fp else 0.0
    f1_0 = 2 * p0 * r0 / (p0 + r0) if p0 + r0 else 0.0
    return {
        "n": len(gold),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "macro_f1": (f1 + f1_0) / 2,
        "accuracy": (tp + tn) / len(gold) if gold else 0.0,
    }


def evaluate_devset(path: Path, show_errors: bool) -> dict[str, dict[str, float]]:
    items = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    results = run_triage(items, brand=None)
    groups: dict[tuple[str, str], list[tuple[bool, bool]]] = defaultdict(list)
    lang_right: Counter[str] = Counter()
    topic_tp = topic_fp = topic_fn = 0
    for item in items:
        r = results[str(item["id"])]
        gold, pred = bool(item["complaint"]), bool(r["complaint"])
        for split in (item.get("split", "tune"), "all"):
            for lang in (item["lang"], "all"):
                groups[(lang, split)].append((gold, pred))
        # language identification, without the file's hint
        lang_right[str(item["lang"] == _detect(str(item["text"])))] += 1
        if gold:
            got, want = set(r["topics"]), set(item["topics"])  # type: ignore[call-overload]
            topic_tp += len(got & want)
            topic_fp += len(got - want)
            topic_fn += len(want - got)
        if show_errors and gold != pred and item.get("split") != "heldout":
            print(
                f"  {'MISS' if gold else 'FALSE'} {item['id']} score={r['score']} "
                f"{item['text']!r}\n      {r['reasons']}",
                file=sys.stderr,
            )
    table: dict[str, dict[str, float]] = {}
    print(f"{'language':8} {'split':8} {'n':>4} {'P':>6} {'R':>6} {'F1':>6} {'acc':>6}")
    for lang in ("da", "en", "all"):
        for split in ("tune", "heldout", "all"):
            pairs = groups.get((lang, split))
            if not pairs:
                continue
            m = prf([g for g, _ in pairs], [p for _, p in pairs])
            table[f"{lang}/{split}"] = m
            print(
                f"{lang:8} {split:8} {m['n']:>4} {m['precision']:6.3f} {m['recall']:6.3f} "
                f"{m['f1']:6.3f} {m['accuracy']:6.3f}"
            )
    tp_p = topic_tp / (topic_tp + topic_fp) if topic_tp + topic_fp else 0.0
    tp_r = topic_tp / (topic_tp + topic_fn) if topic_tp + topic_fn else 0.0
    print(f"topics on complaints (micro): P={tp_p:.3f} R={tp_r:.3f}")
    total = sum(lang_right.values())
    print(f"language identification without hints: {lang_right['True']}/{total} right")
    return table


def evaluate_consumer_set(path: Path, show_errors: bool) -> dict[str, dict[str, float]]:
    """English posts to any consumer brand, scored as `socialcare triage --brand any`."""
    items = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    results = run_triage(items, brand="any")
    groups: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    for item in items:
        r = results[str(item["id"])]
        gold, pred = bool(item["complaint"]), bool(r["complaint"])
        for split in (item.get("split", "tune"), "all"):
            groups[split].append((gold, pred))
        if show_errors and gold != pred and item.get("split") != "heldout":
            print(
                f"  {'MISS' if gold else 'FALSE'} {item['id']} score={r['score']} "
                f"{item['text']!r}\n      {r['reasons']}",
                file=sys.stderr,
            )
    table: dict[str, dict[str, float]] = {}
    print(f"consumer set {path.name} (--brand any):")
    print(f"{'split':8} {'n':>4} {'P':>6} {'R':>6} {'F1':>6} {'acc':>6}")
    for split in ("tune", "heldout", "all"):
        pairs = groups.get(split)
        if not pairs:
            continue
        m = prf([g for g, _ in pairs], [p for _, p in pairs])
        table[split] = m
        print(
            f"{split:8} {m['n']:>4} {m['precision']:6.3f} {m['recall']:6.3f} "
            f"{m['f1']:6.3f} {m['accuracy']:6.3f}"
        )
    return table


def _detect(text: str) -> str:
    from socialcare.triage import language

    return language.detect(text, None, "da").language


def evaluate_benchmark(path: Path, by_domain: bool) -> dict[str, float]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = [r for r in csv.reader(f) if len(r) >= 3]
    items = [{"id": f"{n}:{r[0]}", "text": r[1], "lang": "en"} for n, r in enumerate(rows)]
    results = run_triage(items, brand="any")  # type: ignore[arg-type]
    gold = [r[2].strip() == "1" for r in rows]
    pred = [bool(results[str(i["id"])]["complaint"]) for i in items]
    m = prf(gold, pred)
    print(
        f"benchmark {path.name}: n={m['n']} macro-F1={m['macro_f1']:.3f} F1={m['f1']:.3f} "
        f"accuracy={m['accuracy']:.3f} (P={m['precision']:.3f} R={m['recall']:.3f})"
    )
    if by_domain:
        domains: dict[str, list[int]] = defaultdict(list)
        for n, r in enumerate(rows):
            domains[r[3] if len(r) > 3 else "?"].append(n)
        for domain, idx in sorted(domains.items()):
            d = prf([gold[i] for i in idx], [pred[i] for i in idx])
            print(f"  {domain:14} n={d['n']:>4} F1={d['f1']:.3f} acc={d['accuracy']:.3f}")
    return m


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devset", type=Path, default=DEVSET)
    parser.add_argument("--consumer-set", type=Path, default=CONSUMER_SET)
    parser.add_argument("--errors", action="store_true", help="print misses (tune parts only)")
    parser.add_argument("--benchmark", type=Path, help="complaints-data.csv of the benchmark")
    parser.add_argument("--by-domain", action="store_true", help="benchmark figures per domain")
    args = parser.parse_args(argv)
    if args.benchmark:
        evaluate_benchmark(args.benchmark, args.by_domain)
    else:
        evaluate_devset(args.devset, args.errors)
        evaluate_consumer_set(args.consumer_set, args.errors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
