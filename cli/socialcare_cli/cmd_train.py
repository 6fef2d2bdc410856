"""`socialcare train [--extra FILE.jsonl] --out DIR`: train the triage model.

Trains the shipped recipe (socialcare/triage/training.py) on the repository's labeled
corpus (data/triage/*.jsonl; its blind/ split is never read) plus the extra labeled rows
of FILE, one JSON object a line:

    {"id": "a-17", "text": "...", "complaint": true, "lang": "da", "addressed": true,
     "stars": 2, "topics": ["billing"]}

(`lang`, `addressed`, `stars` and `topics` optional). This is how a company retrains on
its own agents' labels: their rows are masked for the brand file's names (or, with
`--brand any`, every @handle as the addressee, as `socialcare triage --brand any` reads
posts). Extra rows get weights of their own beside the corpus's, and the calibration
and their languages' thresholds are chosen on their out-of-fold scores (docs/triage.md,
"Retraining on your own labels"). Writes DIR/triage-model.bin; use it with `socialcare
triage --model DIR`, `socialcare decide --model DIR`, or the function's TRIAGE_MODEL
setting. Progress goes to stderr; the last line on stdout is a JSON summary (rows, model
bytes, sha256).
Deterministic: the same rows give the same file. Needs the `dev` extra (numpy, scipy).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "data" / "triage"


def register(sub: Any) -> None:
    cmd = sub.add_parser(
        "train",
        help="train the triage model on the corpus plus your labeled rows",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmd.add_argument("--out", required=True, metavar="DIR", help="directory for the model")
    cmd.add_argument("--extra", metavar="FILE", action="append", default=[], help="JSON Lines")
    cmd.add_argument("--corpus", metavar="DIR", type=Path, default=CORPUS, help=argparse.SUPPRESS)
    cmd.add_argument("--brand", metavar="NAME", help="mask extra rows for NAME, or 'any'")
    cmd.add_argument("--brand-file", metavar="TOML", help="brand configuration file")
    cmd.add_argument(
        "--min-precision",
        type=float,
        default=0.95,
        help="precision the thresholds aim at on unseen rows, chosen on the validation folds "
        "with a margin for the optimism of that choice (default 0.95)",
    )
    cmd.add_argument(
        "--objective",
        choices=("precision", "macro-f1"),
        default="precision",
        help="thresholds for precision first (default), or for the best macro-F1 of both "
        "classes (a benchmark's measure, not a product's)",
    )
    cmd.set_defaults(func=run)


# One BLAS thread a process, set before numpy loads: OpenBLAS splits a sum by its thread
# count and the rounding follows the split, so the model file would depend on the
# machine's cores; and two training processes would fight over two cores.
BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def run(args: argparse.Namespace) -> int:
    for name in BLAS_THREADS:
        os.environ.setdefault(name, "1")
    try:
        from socialcare.triage import training
    except ImportError as exc:  # numpy/scipy: the dev extra
        print(
            f"socialcare train: {exc}; install the dev extra (pip install -e '.[dev]')",
            file=sys.stderr,
        )
        return 2
    try:
        training.processes(1)  # reads SOCIALCARE_TRAIN_WORKERS: a bad value fails here
    except ValueError as exc:
        print(f"socialcare train: {exc}", file=sys.stderr)
        return 2
    from socialcare.triage.learned import brand_masker
    from socialcare_cli.cmd_triage import ANY, named_brand

    any_mode = (args.brand or "").lower() == ANY
    masker = brand_masker(named_brand(args.brand, args.brand_file), "any" if any_mode else "brand")
    corpus = [
        row for path in training.corpus_files(args.corpus) for row in training.read_jsonl(path)
    ]
    rows = training.corpus_rows(corpus)
    for name in args.extra:
        try:
            extra = training.extra_rows(training.read_jsonl(Path(name)), masker, any_mode)
        except ValueError as exc:
            print(f"socialcare train: {name}: {exc}", file=sys.stderr)
            return 2
        print(f"{name}: {len(extra)} extra rows", file=sys.stderr)
        rows.extend(extra)
    summary = training.train(
        rows,
        Path(args.out),
        min_precision=args.min_precision,
        objective=args.objective,
        note={"corpus_rows": len(corpus), "extra_rows": len(rows) - len(corpus)},
    )
    print(json.dumps(summary, ensure_ascii=False))
    return 0
