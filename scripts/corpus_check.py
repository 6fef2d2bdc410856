"""Check the labeled triage corpus (data/triage/): every row's shape, the distribution by
language, kind, class and topic, and the near-duplicate rate (character 5-gram Jaccard
>= 0.6 between any two rows, main and blind together), exactly, by prefix filtering.

    python scripts/corpus_check.py [DIR ...] [--json] [--show-dups N]

Exit 1 when a row is malformed or a target of docs/triage-data.md is missed.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "data" / "triage"
LANGUAGES = {"da", "en"}
KINDS = {
    "tweet",
    "facebook_post",
    "facebook_comment",
    "instagram_comment",
    "instagram_caption",
    "trustpilot_review",
    "google_review",
    "reddit",
    "mastodon",
    "bluesky",
    "threads",
}
REVIEWS = {"trustpilot_review", "google_review"}
TOPICS = {
    "outage",
    "speed",
    "billing",
    "equipment",
    "support",
    "installation",
    "cancellation",
    "tv",
    "mobile",
    "delivery",
    "product",
}
FIELDS = {"text", "language", "complaint", "topics", "addressed", "kind", "brand"}
OPTIONAL = {"stars", "domain", "hard", "note"}
THRESHOLD = 0.6
N = 5


class RowError(ValueError):
    pass


def check_row(row: Any) -> None:
    if not isinstance(row, dict):
        raise RowError("not an object")
    missing = FIELDS - row.keys()
    extra = row.keys() - FIELDS - OPTIONAL
    if missing or extra:
        raise RowError(f"missing {sorted(missing)} / unknown {sorted(extra)}")
    if not isinstance(row["text"], str) or not row["text"].strip():
        raise RowError("text is empty")
    if row["language"] not in LANGUAGES:
        raise RowError(f"language {row['language']!r}")
    if not isinstance(row["complaint"], bool) or not isinstance(row["addressed"], bool):
        raise RowError("complaint and addressed are booleans")
    if row["kind"] not in KINDS:
        raise RowError(f"kind {row['kind']!r}")
    if not isinstance(row["topics"], list) or not set(row["topics"]) <= TOPICS:
        raise RowError(f"topics {row['topics']!r}")
    if not isinstance(row["brand"], str) or not row["brand"].strip():
        raise RowError("brand is empty")
    stars = row.get("stars")
    if row["kind"] in REVIEWS:
        if not isinstance(stars, int) or isinstance(stars, bool) or not 1 <= stars <= 5:
            raise RowError("a review has stars 1-5")
    elif stars is not None:
        raise RowError("stars only on reviews")
    if "hard" in row and not isinstance(row["hard"], bool):
        raise RowError("hard is a boolean")


def load(paths: list[Path]) -> tuple[list[tuple[str, dict[str, Any]]], list[str]]:
    rows: list[tuple[str, dict[str, Any]]] = []
    errors: list[str] = []
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            where = f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}:{number}"
            try:
                row = json.loads(line)
                check_row(row)
            except (ValueError, RowError) as error:
                errors.append(f"{where}: {error}")
                continue
            rows.append((where, row))
    return rows, errors


def grams(text: str) -> set[str]:
    folded = " ".join(unicodedata.normalize("NFKC", text).lower().split())
    return {folded[i : i + N] for i in range(max(1, len(folded) - N + 1))}


def near_duplicates(texts: list[str], threshold: float = THRESHOLD) -> list[tuple[int, int, float]]:
    """Every pair with Jaccard >= threshold, exactly: a pair that similar must share one of
    the rarest |s| - ceil(t*|s|) + 1 grams of each set (prefix filtering)."""
    sets = [grams(t) for t in texts]
    frequency = Counter(g for s in sets for g in s)
    ordered = [sorted(s, key=lambda g: (frequency[g], g)) for s in sets]
    index: dict[str, list[int]] = defaultdict(list)
    pairs: list[tuple[int, int, float]] = []
    for i in sorted(range(len(sets)), key=lambda k: len(sets[k])):
        size = len(sets[i])
        prefix = size - math.ceil(threshold * size) + 1
        candidates: set[int] = set()
        for gram in ordered[i][:prefix]:
            candidates.update(index[gram])
            index[gram].append(i)
        for j in candidates:
            if len(sets[j]) < threshold * size:
                continue
            score = len(sets[i] & sets[j]) / len(sets[i] | sets[j])
            if score >= threshold:
                pairs.append((min(i, j), max(i, j), score))
    return pairs


def summary(rows: list[dict[str, Any]], blind: int) -> dict[str, Any]:
    by_lang = Counter(r["language"] for r in rows)
    complaints = Counter(r["language"] for r in rows if r["complaint"])
    kinds = Counter(r["kind"] for r in rows)
    return {
        "rows": len(rows),
        "blind_rows": blind,
        "blind_share": round(blind / len(rows), 3) if rows else 0.0,
        "by_language": dict(by_lang),
        "complaint_share": {k: round(complaints[k] / v, 3) for k, v in by_lang.items()},
        "hard_share": round(sum(1 for r in rows if r.get("hard")) / max(1, len(rows)), 3),
        "addressed_share": round(sum(1 for r in rows if r["addressed"]) / max(1, len(rows)), 3),
        "by_kind": dict(kinds.most_common()),
        "by_topic": dict(Counter(t for r in rows for t in r["topics"]).most_common()),
        "stars": dict(sorted(Counter(r["stars"] for r in rows if "stars" in r).items())),
        "brands": len({r["brand"] for r in rows}),
    }


def targets(stats: dict[str, Any], dup_rate: float) -> list[str]:
    missed = []
    if stats["by_language"].get("da", 0) < 3000:
        missed.append("fewer than 3,000 Danish rows")
    if stats["by_language"].get("en", 0) < 2000:
        missed.append("fewer than 2,000 English rows")
    if any(not 0.30 <= share <= 0.70 for share in stats["complaint_share"].values()):
        missed.append("a language's complaint share is outside 30-70 %")
    if stats["hard_share"] < 0.30:
        missed.append("hard negatives and implicit complaints are under 30 %")
    if sum(1 for n in stats["by_kind"].values() if n >= 50) < 4:
        missed.append("fewer than 4 kinds with 50 rows each")
    if stats["blind_share"] < 0.20:
        missed.append("the blind split is under 20 %")
    if dup_rate > 0.02:
        missed.append(f"near-duplicate rate {dup_rate:.1%} is over 2 %")
    return missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="*", type=Path, default=[CORPUS])
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--show-dups", type=int, default=0, help="print N near-duplicate pairs")
    parser.add_argument("--no-targets", action="store_true", help="shape and duplicates only")
    args = parser.parse_args(argv)
    paths = sorted(p for d in args.dirs for p in (d.rglob("*.jsonl") if d.is_dir() else [d]))
    loaded, errors = load(paths)
    for error in errors:
        print(f"bad row: {error}", file=sys.stderr)
    rows = [r for _, r in loaded]
    blind = sum(1 for where, _ in loaded if "/blind/" in where)
    pairs = near_duplicates([r["text"] for r in rows])
    in_pairs = {k for i, j, _ in pairs for k in (i, j)}
    dup_rate = len(in_pairs) / max(1, len(rows))
    stats = summary(rows, blind) | {
        "near_duplicate_rows": len(in_pairs),
        "near_duplicate_rate": round(dup_rate, 4),
    }
    print(json.dumps(stats, ensure_ascii=False, indent=None if args.json else 2))
    for i, j, score in sorted(pairs, key=lambda p: -p[2])[: args.show_dups]:
        print(
            f"{score:.2f}  {loaded[i][0]}  {loaded[j][0]}\n  {rows[i]['text']}\n  {rows[j]['text']}"
        )
    missed = [] if args.no_targets else targets(stats, dup_rate)
    for line in missed:
        print(f"target missed: {line}", file=sys.stderr)
    return 1 if errors or missed else 0


if __name__ == "__main__":
    sys.exit(main())
