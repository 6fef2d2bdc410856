"""The identity bench: careful name matching on a generated directory of `size` customers.

    python -m socialcare_cli.bench_identity [--size N] [--scan-queries K]

Generates a directory with a Danish name distribution and planted same-city look-alikes
(synthetic_crm.Scenario), imports it with `socialcare crm-import` in a child process
(wall time and that process's peak memory), then measures on the SQLite directory:

- name lookups: `matching.by_name` (candidate search and scoring) for every case's
  mention: median and p95 ms;
- the same rule as a full scan (every distinct name in the directory scored against the
  query, then `matching.choose`) for the first K mentions: its median ms, the speed-up,
  and whether every answer (reason and customer) is the indexed one;
- handle and e-mail lookups: median ms;
- the done-when run: all mentions through `socialcare decide --name-matching on`, judged
  by synthetic_crm.judge (look-alikes contacted, wrong people, recall).

`run()` returns the figures as a dict (bench-out/bench.json puts them under
identity.name_1m); the command prints them as JSON.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from socialcare.identity import matching
from socialcare.identity.names import Name
from socialcare.identity.similarity import score
from socialcare.identity.sqlite_crm import SqliteCrm
from socialcare.models import Customer, Mention
from socialcare_cli.synthetic_crm import Case, Scenario, judge


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _ms(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return round(statistics.median(ordered), 3), round(p95, 3)


def mention_of(line: dict[str, Any]) -> Mention:
    return Mention(
        source=line["source"],
        post_id=line["id"],
        handle=line["handle"],
        display_name=line["display_name"],
        location=line["location"],
        text=line["text"],
        created_at=datetime.now(UTC),
    )


# The child reports its own peak (bench_probe.peak_mib, VmHWM): the rusage a parent gets
# from wait4 keeps the maximum across exec, so at the end of `make bench`, whose process
# is far bigger than the import, it reported the harness (249.5 MiB for a 168 MiB import).
_IMPORT_CHILD = """
import sys
from pathlib import Path
from socialcare_cli.bench_probe import peak_mib
from socialcare_cli.main import main
code = main(["crm-import", sys.argv[1], "--to", sys.argv[2]])
Path(sys.argv[3]).write_text(str(peak_mib()))
sys.exit(code)
"""


def import_directory(source: Path, target: Path) -> tuple[float, float]:
    """`socialcare crm-import` in a child process: (wall seconds, its peak RSS in MiB)."""
    peak_file = target.with_name(target.name + ".peak")
    started = time.perf_counter()
    child = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-c", _IMPORT_CHILD, str(source), f"sqlite:///{target}", str(peak_file)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if child.returncode:
        raise RuntimeError(f"crm-import failed: {child.stderr.decode()[-500:]}")
    return elapsed, float(peak_file.read_text())


class FullScan:
    """The rule without the index: every distinct name in the directory scored."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with sqlite3.connect(path) as db:
            distinct = db.execute("SELECT name FROM names").fetchall()  # each name once
        self.names = [(Name.parse(raw), raw) for (raw,) in distinct]

    def identify(self, mention: Mention) -> matching.Identity:
        query = Name.parse(mention.display_name)
        if not query.usable:
            return matching.Identity(None, None, matching.Reason.NO_CUSTOMER_MATCH)
        scored = [(score(query, name), raw) for name, raw in self.names]
        top = max((s for s, _ in scored), default=0.0)
        keep = {raw: s for s, raw in scored if s > 0 and s >= top - matching.MARGIN}
        with sqlite3.connect(self.path) as db:  # the holders of the names kept
            rows = db.execute(
                "SELECT c.id, n.name, c.city FROM customers c JOIN names n ON n.id = c.name "  # noqa: S608 - placeholders only
                f"WHERE n.name IN ({','.join('?' * len(keep))})",
                list(keep),
            ).fetchall()
        candidates = [
            (keep[name], Customer(id=cid, name=name, city=city)) for cid, name, city in rows
        ]
        return matching.choose(mention, candidates)


def _answer(who: matching.Identity) -> tuple[str | None, str | None]:
    return (who.reason.value if who.reason else None, who.customer.id if who.customer else None)


def _decide(lines: list[dict[str, Any]], db: Path) -> dict[str, dict[str, Any]]:
    """All mentions through `socialcare decide --name-matching on`, in this process."""
    from socialcare_cli.cmd_decide import decide
    from socialcare_cli.main import build_parser

    # The command's own parser, so every option it has takes its default here too.
    args = build_parser().parse_args(
        ["decide", "--crm", f"sqlite:///{db}", "--name-matching", "on"]
    )
    out, err = io.StringIO(), io.StringIO()
    decide((json.dumps(line) for line in lines), args, out, err)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    return {row["mention_id"]: row for row in rows}


def rivalled(cases: list[Case], crm: SqliteCrm, db: Path) -> set[str]:
    """Sampled authors whose own name has another customer within MARGIN of it (by the
    rule, over every candidate of the name: blocking.py makes that list complete)."""
    out = set()
    with sqlite3.connect(db) as conn:
        for case in cases:
            if case.kind != "sampled":
                continue
            (name,) = conn.execute(
                "SELECT n.name FROM customers c JOIN names n ON n.id = c.name WHERE c.id = ?",
                (case.author,),
            ).fetchone()
            mine = Name.parse(name)
            others = [c for c in crm.find_by_name(name, 20) if c.id != case.author]
            if any(score(mine, Name.parse(c.name)) >= 100 - matching.MARGIN for c in others):
                out.add(case.author)
    return out


def run(
    size: int = 1_000_000,
    progress: Callable[[str], None] = _stderr,
    scan_queries: int = 10,
    workdir: str | None = None,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        source, db = Path(tmp) / "customers.jsonl", Path(tmp) / "crm.db"
        scenario = Scenario(size)
        handles, emails = [], []
        spread = max(1, size // 1_000)
        with source.open("w", encoding="utf-8") as out:
            for n, customer in enumerate(scenario.customers(), start=1):
                out.write(json.dumps(customer, ensure_ascii=False) + "\n")
                if n % spread == 0:  # a spread of known handles and addresses
                    handles += customer["handles"][:1]
                    emails += [customer["email"]] if customer["email"] else []
                if n % 200_000 == 0:
                    progress(f"identity bench: {n:,} customers generated")
        progress(f"identity bench: importing {size:,} customers")
        import_s, peak_mib = import_directory(source, db)
        crm = SqliteCrm(db)
        mentions = [mention_of(line) for line in scenario.mentions]
        calibration = [loop_ms()]
        timings, indexed = [], []
        for mention in mentions:
            started = time.perf_counter()
            who = matching.by_name(mention, crm)
            timings.append((time.perf_counter() - started) * 1000)
            indexed.append(_answer(who))
        median_ms, p95_ms = _ms(timings)
        calibration.append(loop_ms())
        progress(f"identity bench: full scan for {scan_queries} names")
        scan = FullScan(db)
        scan_ms, differ = [], 0
        for mention, answer in zip(mentions[:scan_queries], indexed, strict=False):
            started = time.perf_counter()
            full = _answer(scan.identify(mention))
            scan_ms.append((time.perf_counter() - started) * 1000)
            differ += full != answer
        del scan
        handle_ms = _lookup_ms(lambda h: crm.find_by_handle(*h.split(":", 1)), handles)
        email_ms = _lookup_ms(crm.find_by_email, emails)
        progress("identity bench: socialcare decide on every case")
        decisions = _decide(scenario.mentions, db)
        outcome = judge(scenario.cases, decisions, rivalled(scenario.cases, crm, db))
        figures = {
            "customers": size + len(scenario.planted),
            "queries": len(mentions),
            "median_ms": median_ms,
            "p95_ms": p95_ms,
            "max_ms": round(max(timings), 3),
            "scan_queries": len(scan_ms),
            "scan_median_ms": round(statistics.median(scan_ms), 1),
            "speedup_vs_scan": round(statistics.median(scan_ms) / median_ms, 1),
            "same_answers": differ == 0,
            "scan_differences": differ,
            "import_s": round(import_s, 1),
            "import_peak_mib": round(peak_mib, 1),
            "db_mb": round(db.stat().st_size / 1e6, 1),
            "handle_ms": handle_ms,
            "email_ms": email_ms,
            "lookalike_cases": sum(c.kind == "lookalike" for c in scenario.cases),
            "lookalikes_contacted": outcome.lookalikes_contacted,
            "lookalike_authors_identified": outcome.lookalike_authors_identified,
            "wrong_people": outcome.wrong_people,
            "findable": outcome.findable,
            "recall": round(outcome.recall, 3),
            "python_loop_ms": calibration,  # before and after the name lookups
        }
        crm.close()
    return figures


def loop_ms() -> float:
    """A million empty loop turns, in ms: how fast this CPU runs Python just now (about
    15-25 ms on an idle core here; a busy shared machine is many times slower), to read
    the other figures by."""
    started = time.perf_counter()
    for _ in range(1_000_000):
        pass
    return round((time.perf_counter() - started) * 1000, 1)


def _lookup_ms(lookup: Callable[[str], Any], keys: list[str]) -> float:
    rng = random.Random(3)
    sample = [rng.choice(keys) for _ in range(2_000)]
    started = time.perf_counter()
    for key in sample:
        lookup(key)
    return round((time.perf_counter() - started) * 1000 / len(sample), 4)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="generated customers")
    parser.add_argument("--scan-queries", type=int, default=10, help="names also fully scanned")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.size, scan_queries=args.scan_queries), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
