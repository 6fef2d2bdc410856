"""Data-subject requests against the deployed stack: opt out, forget, export.

What the stack keeps about a person is found by keyed hash only: of the CRM customer id
(`person`) and of the lower-cased e-mail address (`address`), each under the current and
the previous hash key (one previous key survives a rotation). Seen-post keys are hashes
of posts, not of people: they cannot be found by person, by design, and expire with their
time to live (docs/privacy.md). Every request leaves one line in the stack's
data-subject log, with hashes, counts and the operator, never an address or a name.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from socialcare.hashing import Hasher
from socialcare.identity import policy

# The kinds of state-table item a person can have, by key prefix.
KINDS = {"optout": "optout", "person": "cooldown", "idem": "idempotency"}
PILOT_LISTS = {"customer_id": "customers", "address": "emails"}  # in the pilot audience
KEY_VERSIONS = ("current", "previous")


@dataclass(frozen=True)
class Hashed:
    """One of a subject's hashes: of what (a customer id or the address), under which key."""

    value: str
    of: str  # "customer_id" | "address"
    key_version: str  # "current" | "previous"
    customer_id: str | None = None

    def label(self) -> dict[str, Any]:
        return {"hash_of": self.of, "customer_id": self.customer_id, "hash_key": self.key_version}


@dataclass
class Subject:
    """Who a request is about: customers (by CRM id) and, if given, an e-mail address."""

    customer_ids: list[str]
    email: str | None = None

    def hashes(self, hasher: Hasher) -> list[Hashed]:
        found = [
            Hashed(h, "customer_id", version, customer_id)
            for customer_id in self.customer_ids
            for h, version in _under_each_key(hasher, "person", customer_id)
        ]
        if self.email:
            found += [
                Hashed(h, "address", version)
                for h, version in _under_each_key(hasher, "address", self.email)
            ]
        return found


def _under_each_key(hasher: Hasher, kind: str, value: str) -> list[tuple[str, str]]:
    """(hash, "current"), then (hash, "previous") when a rotation left one."""
    return list(zip(hasher.candidates(kind, value), KEY_VERSIONS, strict=False))


@dataclass
class Stack:
    """The deployed resources a request works on."""

    dynamodb: Any
    table: str
    hasher: Hasher
    logs: Any
    log_groups: list[str]
    requests_log: str
    ssm: Any = None
    pilot: str | None = None  # the pilot audience's SSM parameter, while a pilot is set
    operator: str = ""
    counts: Counter[str] = field(default_factory=Counter)
    stream: str = ""


_DESERIALIZE = TypeDeserializer()


def _plain(value: Any) -> Any:
    """DynamoDB's numbers (Decimal) as JSON numbers; stored JSON (`data`) read back."""
    if isinstance(value, Decimal):
        return int(value) if value == int(value) else float(value)
    if isinstance(value, str) and value.startswith(("{", "[")):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _item(raw: dict[str, Any]) -> dict[str, Any]:
    item = {k: _plain(_DESERIALIZE.deserialize(v)) for k, v in raw.items()}
    expires = item.get("expires_at")
    if isinstance(expires, int):
        item["expires"] = datetime.fromtimestamp(expires, UTC).isoformat(timespec="seconds")
        item["expired"] = expires < time.time()  # DynamoDB deletes expired items lazily
    return item


def _held_row(key: str, hashed: Hashed, raw: dict[str, Any]) -> dict[str, Any]:
    kind = KINDS[key.split("#", 1)[0]]
    item = _item(raw)
    item.pop("pk", None)
    return {"kind": kind, "key": key, **hashed.label(), "item": item}


def state_items(stack: Stack, hashes: list[Hashed]) -> list[dict[str, Any]]:
    """The subject's opt-outs, cooldowns (per-person keys) and the mailer's idempotency
    records (which hold the customer hash in their stored result)."""
    rows = []
    for hashed in hashes:
        prefixes = ("optout",) if hashed.of == "address" else ("optout", "person")
        for prefix in prefixes:
            key = f"{prefix}#{hashed.value}"
            got = stack.dynamodb.get_item(
                TableName=stack.table, Key={"pk": {"S": key}}, ConsistentRead=True
            )
            if "Item" in got:
                rows.append(_held_row(key, hashed, got["Item"]))
    people = [h for h in hashes if h.of == "customer_id"]
    for raw, hashed in _idempotency_records(stack, people):
        rows.append(_held_row(raw["pk"]["S"], hashed, raw))
    return rows


def _idempotency_records(
    stack: Stack, hashes: list[Hashed]
) -> Iterator[tuple[dict[str, Any], Hashed]]:
    """Keyed by a hash of (customer hash, mention id), so found by their stored result:
    a scan of `idem#` items whose `data` holds one of the hashes."""
    if not hashes:
        return
    names = {f":h{i}": h for i, h in enumerate(hashes)}
    kwargs: dict[str, Any] = {
        "TableName": stack.table,
        "FilterExpression": "begins_with(pk, :idem) AND ("
        + " OR ".join(f"contains(#data, {n})" for n in names)
        + ")",
        "ExpressionAttributeNames": {"#data": "data"},
        "ExpressionAttributeValues": {
            ":idem": {"S": "idem#"},
            **{n: {"S": h.value} for n, h in names.items()},
        },
    }
    while True:
        page = stack.dynamodb.scan(**kwargs)
        for raw in page["Items"]:
            data = raw.get("data", {}).get("S", "")
            yield raw, next(h for h in hashes if h.value in data)
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def audit_lines(stack: Stack, hashes: list[Hashed]) -> list[dict[str, Any]]:
    """Log lines in the stack's log groups that carry one of the hashes: decision lines,
    opt-outs, earlier requests. Kept until the log group's retention ends them."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for group in stack.log_groups:
        for hashed in hashes:
            pages = stack.logs.get_paginator("filter_log_events").paginate(
                logGroupName=group, filterPattern=f'"{hashed.value}"'
            )
            for event in (e for page in pages for e in page["events"]):
                try:
                    line: Any = json.loads(event["message"])
                except ValueError:
                    line = event["message"]
                at = datetime.fromtimestamp(event["timestamp"] / 1000, UTC)
                rows[(group, event["eventId"])] = {
                    "kind": "audit_line",
                    "log_group": group,
                    "time": at.isoformat(timespec="milliseconds"),
                    **hashed.label(),
                    "line": line,
                }
    return sorted(rows.values(), key=lambda row: (row["time"], row["log_group"]))


def pilot_entries(stack: Stack, hashes: list[Hashed]) -> list[dict[str, Any]]:
    """The subject's hashes in the pilot audience (socialcare pilot), while one is set."""
    if not stack.pilot:
        return []
    from socialcare.operations import pilot

    audience = pilot.parse(_pilot_value(stack), stack.pilot).model_dump()
    return [
        {"kind": "pilot", "key": stack.pilot, **h.label(), "item": {"list": PILOT_LISTS[h.of]}}
        for h in hashes
        if h.value in audience[PILOT_LISTS[h.of]]
    ]


def _pilot_value(stack: Stack) -> str:
    return str(stack.ssm.get_parameter(Name=stack.pilot)["Parameter"]["Value"])


def export(stack: Stack, subject: Subject) -> list[dict[str, Any]]:
    hashes = subject.hashes(stack.hasher)
    rows = state_items(stack, hashes) + pilot_entries(stack, hashes) + audit_lines(stack, hashes)
    stack.counts.update(row["kind"] for row in rows)
    return rows


def forget(stack: Stack, subject: Subject) -> list[dict[str, Any]]:
    """Erase the cooldown keys, idempotency records and pilot entries; keep the opt-outs
    (an objection must outlive the erasure, or the next complaint would e-mail the person
    again)."""
    hashes = subject.hashes(stack.hasher)
    rows = []
    for row in state_items(stack, hashes):
        keep = row["kind"] == "optout"
        if not keep:
            stack.dynamodb.delete_item(TableName=stack.table, Key={"pk": {"S": row["key"]}})
        rows.append(_done(stack, "kept" if keep else "erased", row))
    listed = pilot_entries(stack, hashes)
    if listed:
        _leave_pilot(stack, [h.value for h in hashes])
    rows += [_done(stack, "erased", row) for row in listed]
    return rows


def _done(stack: Stack, action: str, row: dict[str, Any]) -> dict[str, Any]:
    stack.counts[f"{action} {row['kind']}"] += 1
    return {"action": action, **{k: v for k, v in row.items() if k != "item"}}


def _leave_pilot(stack: Stack, hashes: list[str]) -> None:
    """Take the hashes off the pilot list, as `socialcare pilot remove --hash` does."""
    from socialcare.operations import pilot
    from socialcare_cli.cmd_pilot import TIER, edit

    current = pilot.parse(_pilot_value(stack), str(stack.pilot))
    changed = edit(current, "remove", [], [], hashes)
    stack.ssm.put_parameter(
        Name=stack.pilot, Value=changed.to_json(), Type="String", Overwrite=True, Tier=TIER
    )


def opt_out(stack: Stack, subject: Subject) -> list[dict[str, Any]]:
    """Add the subject to the opt-out register by hand (reason `request`), as the link in
    an e-mail would; one found under the previous key is moved to the current one."""
    from socialcare.adapters.dynamodb import DynamoState

    state = DynamoState(stack.dynamodb, stack.table)
    kinds = [("person", c, "customer_id") for c in subject.customer_ids]
    if subject.email:
        kinds.append(("address", subject.email, "address"))
    rows = []
    for kind, value, of in kinds:
        already = policy.registered(state, stack.hasher, kind, value)
        current = stack.hasher(kind, value)
        if not already:
            policy.register(state, policy.optout_key(current), "request", stack.hasher.kids[0])
        action = "already_registered" if already else "registered"
        stack.counts[action] += 1
        hashed = Hashed(current, of, "current", value if of == "customer_id" else None)
        rows.append({"action": action, "kind": "optout", "key": f"optout#{current}"})
        rows[-1].update(hashed.label())
    return rows


def begin_request(stack: Stack, request: str) -> None:
    """Open the request's stream in the data-subject log before anything is changed, so
    an operator who may not write the log learns it before, not after, an erasure."""
    stack.stream = f"{request}/{datetime.now(UTC):%Y/%m/%d}/{uuid.uuid4().hex}"
    stack.logs.create_log_stream(logGroupName=stack.requests_log, logStreamName=stack.stream)


def record_request(
    stack: Stack, request: str, by: str, subject: Subject, outcome: str
) -> dict[str, Any]:
    """The request's audit line in the data-subject log: hashes under the current key,
    counts, the operator; never the address or the customer id in clear."""
    line = {
        "level": "INFO",
        "message": "data subject request",
        "service": "socialcare-cli",
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "request": request,
        "by": by,
        "customer_hashes": [stack.hasher.person(c) for c in subject.customer_ids],
        "address_hash": stack.hasher.address(subject.email) if subject.email else None,
        "kid": stack.hasher.kids[0],
        "outcome": outcome,
        "counts": dict(sorted(stack.counts.items())),
        "operator": stack.operator,
    }
    stack.logs.put_log_events(
        logGroupName=stack.requests_log,
        logStreamName=stack.stream,
        logEvents=[{"timestamp": int(time.time() * 1000), "message": json.dumps(line)}],
    )
    return line
