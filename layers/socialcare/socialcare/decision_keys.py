"""The state table's record of each decision, so SQS's redeliveries decide nothing twice.

A post's first fetch is decided under `seen#<post>`, any other fetch of it (and the
cheap reasons) under `decided#<post>.<fetch>`. The owner is "<fetch> <attempt>"; the
state is `leased` while an attempt decides (the key lapses with the attempt's time) or
`done`. pipeline.handle says when a decision needs the lease and when one write is all.
"""

from __future__ import annotations

from enum import Enum

from socialcare.errors import DecisionInProgress
from socialcare.ports import State


def seen_key(mention_hash: str) -> str:
    return f"seen#{mention_hash}"


# A decision is kept as long as SQS can hand its post and fetch out again: 14 days is the
# longest any queue (DLQs included) keeps a message, and a redrive starts no new fetch.
DECIDED_TTL_S = 15 * 86_400


def decided_key(mention_hash: str, fetch_id: str) -> str:
    return f"decided#{mention_hash}.{fetch_id}"


class Held(Enum):
    OURS = "ours"
    DONE = "done"  # decided before: a redelivery
    OTHER_FETCH = "other fetch"  # the post is another fetch's: this one is `duplicate`


def take(state: State, fetch_id: str | None, key: str, owner: str, ttl_s: int, lease: bool) -> Held:
    """Claim `key` for this attempt, `leased` or at once `done`; or say who holds it.
    `fetch_id`: for the post's key, whose holder may be another fetch."""
    for _ in range(2):
        if state.claim(key, owner, ttl_s, state="leased" if lease else "done"):
            return Held.OURS
        held = holder(state, fetch_id, key)
        if held is not None:
            return held
    raise DecisionInProgress("the decision key changed hands twice")  # released meanwhile


def holder(state: State, fetch_id: str | None, key: str) -> Held | None:
    """Who holds `key`: None (nobody), this fetch's decision done, or another fetch's;
    DecisionInProgress while another attempt, of this fetch or another, decides."""
    held = state.holder(key)
    if held is None:
        return None
    fetch, _, attempt = held.get("owner", "").partition(" ")
    if fetch_id is not None:
        if fetch != fetch_id:
            if attempt and held.get("state") != "done":
                # its decision may still fail and give the post back: deciding this fetch
                # `duplicate` now could leave it with two decisions, so wait for it
                raise DecisionInProgress("another fetch of this post is deciding")
            return Held.OTHER_FETCH
        if not attempt:  # claimed before leases moved here: its fetch's decided# says
            legacy = decided_key(key.removeprefix("seen#"), fetch_id)
            held = state.holder(legacy) or {}
    if held.get("state") == "done":
        return Held.DONE
    raise DecisionInProgress("another delivery of this post and fetch is deciding")
