"""The state table's batched read (DynamoState.holders, on moto) and the one read triage's
contact policy makes per customer: what holder() finds key by key, in one request."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from socialcare import formats
from socialcare.adapters.dynamodb import DynamoState
from socialcare.errors import FormatError
from socialcare.hashing import Hasher
from socialcare.identity import policy
from socialcare.identity.policy import PolicyConfig, optout_key, person_key
from socialcare.models import Customer, Reason
from tests.integration import state_table

TABLE = "state"
KEY, PREVIOUS = "state-reads-key-0123456789", "state-reads-old-0123456789"


class NoCrm:
    """The CRM port with no history: the policy then rests on the state table alone."""

    def interactions(self, customer_id: str, since: datetime) -> list[Any]:
        return []


def check(customer: Customer, state: DynamoState, hasher: Hasher) -> Reason:
    return policy.check(
        customer,
        crm=NoCrm(),  # type: ignore[arg-type]
        state=state,
        hasher=hasher,
        now=datetime.now(UTC),
        config=PolicyConfig(),
    )


@pytest.fixture
def table(aws: str) -> tuple[Any, DynamoState, Counter[str]]:
    """The table, its adapter, and a count of the requests the adapter sends."""
    client = boto3.client("dynamodb")
    state_table.create(client, TABLE)
    sent: Counter[str] = Counter()
    client.meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: sent.update([model.name])
    )
    return client, DynamoState(client, TABLE), sent


def put(client: Any, key: str, expires_at: int, **attrs: str) -> None:
    item = {"pk": {"S": key}, "expires_at": {"N": str(expires_at)}, "owner": {"S": "o"}}
    client.put_item(TableName=TABLE, Item={**item, **{k: {"S": v} for k, v in attrs.items()}})


def test_holders_finds_what_holder_finds_in_one_request(table: Any) -> None:
    client, state, sent = table
    later, earlier = int(time.time()) + 3600, int(time.time()) - 10
    put(client, "optout#a", later, reason="link")
    put(client, "person#b", later, state="sent")
    put(client, "person#lapsed", earlier)  # DynamoDB deletes expired items lazily
    keys = ["optout#a", "person#b", "person#lapsed", "optout#absent", "optout#a"]
    sent.clear()
    found = state.holders(keys)
    assert sent == Counter({"BatchGetItem": 1})
    assert found == {k: h for k in keys if (h := state.holder(k))}
    assert set(found) == {"optout#a", "person#b"} and found["optout#a"]["reason"] == "link"
    sent.clear()
    assert state.holders([]) == {} and not sent


def test_holders_refuses_a_newer_format(table: Any) -> None:
    client, state, _ = table
    newer = str(formats.STATE_ITEMS["person"] + 1)
    client.put_item(
        TableName=TABLE,
        Item={"pk": {"S": "person#h"}, "expires_at": {"N": "9999999999"}, "v": {"N": newer}},
    )
    with pytest.raises(FormatError, match="sam deploy"):
        state.holders(["optout#x", "person#h"])


@pytest.mark.parametrize(
    ("held", "reason"),
    [
        ([], Reason.CONTACT),
        (["person-optout"], Reason.OPTED_OUT),
        (["address-optout"], Reason.OPTED_OUT),
        (["person"], Reason.RECENTLY_CONTACTED),
    ],
)
def test_the_policy_reads_a_customers_state_in_one_request(
    table: Any, held: list[str], reason: Reason
) -> None:
    client, state, sent = table
    hasher = Hasher(KEY)
    customer = Customer(id="C-1", name="Ada", email="ada@example.com")
    keys = {
        "person-optout": optout_key(hasher.person(customer.id)),
        "address-optout": optout_key(hasher.address("ada@example.com")),
        "person": person_key(hasher.person(customer.id)),
    }
    for name in held:
        put(client, keys[name], int(time.time()) + 3600, reason="link")
    sent.clear()
    assert check(customer, state, hasher) is reason
    assert sent == Counter({"BatchGetItem": 1})


def test_an_opt_out_under_the_previous_key_is_found_and_rekeyed(table: Any) -> None:
    client, state, sent = table
    before, after = Hasher(PREVIOUS), Hasher(KEY, PREVIOUS)
    customer = Customer(id="C-2", name="Bo", email="bo@example.com")
    old = optout_key(before.person(customer.id))
    put(client, old, int(time.time()) + 3600, reason="complaint")
    sent.clear()
    assert check(customer, state, after) is Reason.OPTED_OUT
    assert sent["BatchGetItem"] == 1 and "GetItem" not in sent
    assert state.holder(old) is None  # moved to the current key
    assert (state.holder(optout_key(after.person(customer.id))) or {})["reason"] == "complaint"
