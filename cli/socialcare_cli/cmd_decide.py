"""`socialcare decide [--crm-kind KIND] --crm URL [--brand-file B] [FILE]`: a dry run of
triage against a real CRM.

Reads mentions as JSON Lines (FILE, or standard input when FILE is absent or "-"): the
post's `post_id` (as `socialcare parse` writes it, so `parse ... | decide ...` works) or
`id`, `source` and the other Mention fields (`text`, `handle`, `email`, `created_at`
(default: now)...), among them the optional placement, `"addressed": true` (the post sits
where it is directed at the brand, so it need not name it) and `"stars": 1-5` (a review's
rating); lines without them read as before. It runs the Lambda's own triage, identity and
policy code on each (`socialcare.pipeline.triage`), and writes one JSON line per mention:

    {"mention_id": <input id>, "decision": "contact"|"skip", "reason": <reason>,
     "customer_id": <CRM id>|null, "match": "handle"|"email"|"name"|null}

Shadow mode, offline: it talks to the CRM only (GET requests; the CRM's social_outreach
interactions carry the cooldown). Nothing is sent, recorded or written; the seen-post and
per-person keys live in memory for this run, so a post repeated in the file is `duplicate`
and a second complaint of a person already decided `contact` is `recently_contacted`, as
the mailer's per-person key would make it live. A line that cannot be read is named
(line number, field) on stderr and skipped; a summary by reason ends the run on stderr.
The CRM's credential comes from SOCIALCARE_CRM_TOKEN (a composite's help desk:
SOCIALCARE_HELPDESK_TOKEN, else the same); `--crm-kind` names a vendor's API
(hubspot, zendesk, hubspot+zendesk, ...), as the CrmKind parameter does. Triage uses the
model shipped in the layer; `--model DIR` (from `socialcare train`) another one, and
`--model rules` the cue rules, as TRIAGE_MODEL does for the function.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from socialcare.identity.ports import Crm
from socialcare.models import Customer, Interaction, Mention, TriageResult
from socialcare_cli import crm_args
from socialcare_cli.cmd_triage import add_model_options, build_classifier
from socialcare_cli.jsonl import (
    LINE_ERRORS,
    open_lines,
    placement,
    post_id,
    read_object,
    skipped,
)
from socialcare_cli.options import add_brand_option, load_cli_brand
from socialcare_cli.progress import tracked

MATCHING = ("off", "review", "on")
PROG = "socialcare decide"


def register(sub: Any) -> None:
    cmd = sub.add_parser(
        "decide",
        help="dry-run triage of mentions (JSON Lines) against a CRM; nothing is sent",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    crm_args.add(cmd)
    cmd.add_argument("file", nargs="?", default="-", help="JSON Lines of mentions (- = stdin)")
    cmd.add_argument(
        "--name-matching",
        choices=MATCHING,
        default=os.environ.get("NAME_MATCHING", "off"),
        help="name matching as the NameMatching parameter (default: $NAME_MATCHING or off)",
    )
    cmd.add_argument(
        "--in-contact-hours",
        type=int,
        default=72,
        help="customer service contact this recent is already_in_contact (InContactHours)",
    )
    cmd.add_argument(
        "--cooldown-days",
        type=int,
        default=30,
        help="one e-mail per person in this many days (CooldownDays)",
    )
    cmd.add_argument(
        "--max-post-age-hours",
        type=int,
        default=72,
        help="older posts are stale (MaxPostAgeHours)",
    )
    add_model_options(cmd)
    cmd.add_argument(
        "--report",
        metavar="FILE.html",
        default=None,
        help="also write a report: each post beside its decision, the e-mails it would send",
    )
    add_brand_option(cmd)
    cmd.set_defaults(func=run)


class _Remembering:
    """The CRM port, remembering which customer id is behind each person hash it returned
    (decisions carry hashes only; this tool's output names the CRM id)."""

    def __init__(self, crm: Crm, person: Any) -> None:
        self._crm = crm
        self._person = person
        self.ids: dict[str, str] = {}

    def _seen(self, customers: list[Customer]) -> list[Customer]:
        for customer in customers:
            self.ids[self._person(customer.id)] = customer.id
        return customers

    def find_by_handle(self, platform: str, handle: str) -> list[Customer]:
        return self._seen(self._crm.find_by_handle(platform, handle))

    def find_by_email(self, email: str) -> list[Customer]:
        return self._seen(self._crm.find_by_email(email))

    def find_by_name(self, name: str, limit: int = 10) -> list[Customer]:
        return self._seen(self._crm.find_by_name(name, limit))

    def interactions(self, customer_id: str, since: datetime) -> list[Interaction]:
        return self._crm.interactions(customer_id, since)

    def record_interaction(self, customer_id: str, interaction: dict[str, object]) -> None:
        raise AssertionError("decide never records anything in the CRM")


def to_mention(raw: dict[str, Any], now: datetime) -> Mention:
    """A Mention from one input object: `post_id` or `id` is the post id; `created_at`
    defaults to now."""
    placement(raw)  # worded as `socialcare triage` words it
    fields = {k: v for k, v in raw.items() if k not in ("id", "post_id")}
    fields["post_id"] = str(post_id(raw))
    if fields.get("created_at") in (None, ""):
        fields["created_at"] = now
    if fields.get("addressed") is None:
        fields.pop("addressed", None)  # null reads as absent, as in `socialcare triage`
    return Mention.model_validate(fields)


def decide(
    lines: Iterable[str],
    args: argparse.Namespace,
    out: IO[str],
    err: IO[str],
    on_decided: Callable[[dict[str, Any], dict[str, Any], TriageResult], None] | None = None,
) -> tuple[Counter[str], int]:
    """Write one decision line per readable mention; returns (reasons, unreadable).
    `on_decided(input, line, result)` sees each (the --report)."""
    from socialcare.adapters.memory import MemoryState
    from socialcare.hashing import Hasher
    from socialcare.identity import policy
    from socialcare.pipeline import TriageDeps, triage

    brand = load_cli_brand(getattr(args, "brand_file", None), PROG)
    hasher = Hasher(secrets.token_hex(16))  # this run only: nothing persists
    crm = _Remembering(crm_args.build(args), hasher.person)
    deps = TriageDeps(
        brand=brand,
        classifier=build_classifier(None, brand=brand, model=args.model),
        crm=crm,
        state=MemoryState(),
        hasher=hasher,
        max_post_age=timedelta(hours=args.max_post_age_hours),
        policy=policy.PolicyConfig(
            in_contact_hours=args.in_contact_hours, cooldown_days=args.cooldown_days
        ),
        name_matching=args.name_matching,
    )
    reasons: Counter[str] = Counter()
    unreadable = 0
    for number, line in enumerate(tracked(lines, err, PROG), start=1):
        if not line.strip():
            continue
        try:
            raw = read_object(line)
            mention = to_mention(raw, datetime.now(UTC))
        except LINE_ERRORS as exc:  # named by line and field: the line may hold text, names
            skipped(err, PROG, number, exc)
            unreadable += 1
            continue
        result = triage(mention, deps)
        decision = result.decision
        if decision.customer_hash and decision.reason.value == "contact":
            # What the mailer's per-person key would do live: one e-mail per person.
            cooldown_s = args.cooldown_days * 86_400
            deps.state.claim(policy.person_key(decision.customer_hash), "decide", cooldown_s)
        row = {
            "mention_id": post_id(raw),
            "decision": decision.decision,
            "reason": decision.reason.value,
            "customer_id": crm.ids.get(decision.customer_hash or ""),
            "match": decision.match,
        }
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        out.flush()
        reasons[row["reason"]] += 1
        if on_decided:
            on_decided(raw, row, result)
    return reasons, unreadable


def run(args: argparse.Namespace) -> int:
    from socialcare_cli import report

    lines = open_lines(args.file, sys.stderr, PROG)
    backtest = report.Backtest() if args.report else None
    reasons, unreadable = decide(
        lines, args, sys.stdout, sys.stderr, backtest.add if backtest else None
    )
    by_reason = ", ".join(f"{reason} {n}" for reason, n in sorted(reasons.items()))
    print(
        f"{PROG}: {reasons.total()} mentions decided"
        + (f" ({by_reason})" if by_reason else "")
        + f"; {unreadable} unreadable lines",
        file=sys.stderr,
    )
    if backtest:
        notes = [f"{PROG} --crm {args.crm} {args.file}: a dry run, nothing sent"]
        if unreadable:
            notes.append(f"{unreadable} unreadable input lines are not in this report")
        path = report.write(backtest.report(notes), Path(args.report))
        print(f"report: {path}", file=sys.stderr)
    return 1 if unreadable else 0
