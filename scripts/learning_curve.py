"""The triage model's learning curve: how much the corpus size buys.

    .venv/bin/python scripts/learning_curve.py

For 25 %, 50 %, 75 % and 100 % of the main split's rows (a fixed subset, the same
recipe as `socialcare train`: thresholds for precision ≥ 0.95 on out-of-fold scores),
the precision and recall of the resulting model on the blind split, per language,
through the same code as `scripts/evaluate_triage.py`. Figures only; nothing is tuned.
"""

from __future__ import annotations

import sys
import tempfile
import zlib
from pathlib import Path

from evaluate_triage import blind_items, judged_per_brand, learned, prf

from socialcare.triage import training

ROOT = Path(__file__).resolve().parent.parent
SHARES = (0.25, 0.5, 0.75, 1.0)


def main() -> int:
    records = [
        row
        for path in training.corpus_files(ROOT / "data" / "triage")
        for row in training.read_jsonl(path)
    ]
    items = blind_items()
    gold = [bool(i["complaint"]) for i in items]
    print("| main-split rows | da P | da R | en P | en R |")
    print("|---|---|---|---|---|")
    for share in SHARES:
        # a fixed subset: rows whose text hashes below the share
        subset = [r for r in records if zlib.crc32(r["text"].encode()) % 1000 < share * 1000]
        with tempfile.TemporaryDirectory() as tmp:
            training.train(training.corpus_rows(subset), Path(tmp), say=lambda _: None)
            verdicts = judged_per_brand(items, learned(tmp))
        cells = []
        for lang in ("da", "en"):
            m = prf(
                [
                    (g, v)
                    for g, v, i in zip(gold, verdicts, items, strict=True)
                    if i["language"] == lang
                ]
            )
            cells += [f"{m['precision']:.2f}", f"{m['recall']:.2f}"]
        print(f"| {len(subset)} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
