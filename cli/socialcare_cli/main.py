"""The `socialcare` command: local tools around the deployed functions."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _demo(args: argparse.Namespace) -> int:
    from socialcare_cli.demo import print_funnel, run_demo

    result = run_demo(
        Path(args.out), mode=args.mode, progress=lambda msg: print(msg, file=sys.stderr)
    )
    print_funnel(result)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="socialcare", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the whole pipeline locally on sample data")
    demo.add_argument("--out", default="demo-out", help="where outbox/ and decisions go")
    demo.add_argument("--mode", default="live", choices=["shadow", "review", "live"])
    demo.set_defaults(func=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
