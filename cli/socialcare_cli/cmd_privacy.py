"""`socialcare privacy-scan` (make privacy): run the demo, then look for the sample's post
texts, handles, names and e-mail addresses in everything the system kept (privacy.py)."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    cmd = sub.add_parser("privacy-scan", help="demo run, then scan what it kept for personal data")
    cmd.add_argument("--out", default="privacy-out", help="the run's directory (emptied first)")
    cmd.set_defaults(func=run)


@contextlib.contextmanager
def temp_dir(path: Path) -> Iterator[None]:
    """Files the functions write (Lambda: /tmp) land here, to be scanned too."""
    before, saved = tempfile.tempdir, os.environ.get("TMPDIR")
    tempfile.tempdir, os.environ["TMPDIR"] = str(path), str(path)
    try:
        yield
    finally:
        tempfile.tempdir = before
        if saved is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved


def run(args: argparse.Namespace) -> int:
    from socialcare_cli.demo import run_demo
    from socialcare_cli.privacy import EXEMPT, sample_needles, scan

    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    (out / "tmp").mkdir(parents=True)
    with temp_dir(out / "tmp"):
        result = run_demo(out, platforms=True, progress=lambda _: None)
    needles = sample_needles()
    report = scan(out, needles)
    sought = {kind: len(values) for kind, values in needles.exact.items()}
    sought["name"] = len(needles.names)
    print(f"privacy: demo run of {result.fetched} mentions, {len(result.emails)} e-mails")
    print("privacy: sought " + ", ".join(f"{k} {n}" for k, n in sorted(sought.items())))
    written = sum(1 for p in (out / "tmp").rglob("*") if p.is_file())
    print(
        f"privacy: scanned {len(report.scanned)} files ({written} written under TMPDIR): "
        + ", ".join(report.scanned)
    )
    for name, why in EXEMPT.items():
        found = sum(n for k, n in report.exempt.items() if k.split("/")[0].startswith(name))
        print(f"privacy: exempt {name} ({why}): {found} hits, not counted")
    for where, n in sorted(report.hits.items()):
        print(f"privacy: HIT {where} x{n}", file=sys.stderr)
    print(f"privacy: {report.total} hits")
    return 0 if report.total == 0 else 1
