"""`socialcare cost`: monthly cost per service line, fixed and per 1M mentions."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(sub: Any) -> None:
    cmd = sub.add_parser("cost", help="what socialcare costs to run (docs/cost.md)")
    cmd.add_argument("--mentions-per-day", type=float, required=True, help="mentions fetched a day")
    cmd.add_argument(
        "--complaint-rate", type=float, default=0.2, help="share of mentions that are complaints"
    )
    cmd.add_argument(
        "--region",
        default="eu-west-1",
        choices=["eu-west-1", "eu-north-1"],
        help="whose list prices (prices.json)",
    )
    cmd.add_argument(
        "--sources",
        help="comma-separated sources enabled (default: bluesky,mastodon,facebook,instagram;"
        " '' for none): each adds its heartbeat series, silence alarm and secret",
    )
    cmd.add_argument("--json", action="store_true", help="one JSON object")
    cmd.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from socialcare_cli.cost import series
    from socialcare_cli.cost.model import report

    if args.mentions_per_day < 0 or not 0 <= args.complaint_rate <= 1:
        raise SystemExit("cost: --mentions-per-day must be ≥ 0 and --complaint-rate in 0..1")
    sources = None if args.sources is None else [s for s in args.sources.split(",") if s]
    known = series.scheduled_sources()
    if sources and set(sources) - set(known):
        raise SystemExit(f"cost: --sources takes {','.join(known)}")
    out = report(args.mentions_per_day, args.complaint_rate, args.region, sources)
    if args.json:
        print(json.dumps(out))
        return 0
    for line in out["lines"]:
        print(f"{line['service']:<22}{line['item'][:58]:<60}{line['monthly_usd']:>10.2f}")
    summary = (
        f"fixed ${out['fixed_per_month']}/month, variable ${out['variable_per_million']} "
        f"per 1M mentions, total ${out['monthly_total']}/month; SES ${out['ses_per_month']} "
        f"apart; {out['metric_series']} metric series"
    )
    print("\n" + summary)
    print("\nmemory MB  " + "".join(f"{mb:>16}" for mb in (128, 256, 512, 1024)))
    for function, sizes in out["memory"].items():
        cells = "".join(f"{s['ms']:>8.0f} ms ${s['per_million_usd']:.2f}" for s in sizes.values())
        print(f"{function.removesuffix('Function'):<11}{cells}")
    return 0
