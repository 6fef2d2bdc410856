"""Hash-key rotation keeps the opt-out register: entries made under the previous key
still block, and move to the current key when they are met (re-key on touch)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from socialcare.adapters.memory import MemoryCrm, MemoryState
from socialcare.errors import ConfigError
from socialcare.hashing import Hasher
from socialcare.identity.policy import (
    PolicyConfig,
    address_optout_key,
    check,
    optout_key,
    person_key,
    register,
)
from socialcare.keyring import REFRESH_S, StackKeys
from socialcare.models import Customer, Reason
from socialcare.outreach import optout
from socialcare.outreach.unsubscribe import TokenError, make_token

OLD, NEW = "old-key-" + "o" * 24, "new-key-" + "n" * 24
BEFORE, AFTER = Hasher(OLD), Hasher(NEW, previous=OLD)
CUSTOMER = Customer(id="C-1", name="Mette Jensen", email="Mette@Example.net")


def decide(state: MemoryState, hasher: Hasher) -> Reason:
    return check(
        CUSTOMER,
        crm=MemoryCrm([CUSTOMER]),
        state=state,
        hasher=hasher,
        now=datetime.now(UTC),
        config=PolicyConfig(),
    )


@pytest.mark.parametrize("kind", ["person", "address"])
def test_an_opt_out_made_under_the_old_key_blocks_after_rotation_and_is_rekeyed(
    kind: str,
) -> None:
    state = MemoryState()
    value = CUSTOMER.id if kind == "person" else str(CUSTOMER.email)
    old_key = optout_key(BEFORE(kind, value))
    register(state, old_key, "unsubscribe", BEFORE.kids[0])

    assert decide(state, Hasher(NEW)) is Reason.CONTACT  # a bare new key would lose it
    assert decide(state, AFTER) is Reason.OPTED_OUT
    new_key = optout_key(AFTER(kind, value))
    assert state.holder(old_key) is None  # re-keyed on touch
    assert state.holder(new_key) == {
        "owner": "unsubscribe",
        "expires_at": state.items[new_key]["expires_at"],
        "reason": "unsubscribe",
        "kid": AFTER.kids[0],
    }
    assert decide(state, AFTER) is Reason.OPTED_OUT  # and found directly from now on


def test_a_cooldown_under_the_old_key_still_holds() -> None:
    state = MemoryState()
    state.claim(person_key(BEFORE.person(CUSTOMER.id)), "m-1", 3600)
    assert decide(state, AFTER) is Reason.RECENTLY_CONTACTED


def test_without_rotation_nothing_changes() -> None:
    state = MemoryState()
    register(state, address_optout_key(BEFORE.address("mette@example.net")), "bounce", "k")
    assert decide(state, BEFORE) is Reason.OPTED_OUT
    assert len(state.items) == 1 and BEFORE.candidates("person", "C-1") == [BEFORE.person("C-1")]


def test_links_signed_with_the_previous_key_still_opt_out_under_its_kid() -> None:
    state = MemoryState()
    keys = [("new-unsubscribe", AFTER.kids[0]), ("old-unsubscribe", AFTER.kids[1])]
    old_link = make_token("old-unsubscribe", BEFORE.person("C-1"))
    assert optout.unsubscribe(state, keys, old_link) == BEFORE.person("C-1")
    item = state.holder(optout_key(BEFORE.person("C-1")))
    assert item and item["kid"] == BEFORE.kids[0] == AFTER.kids[1]
    assert decide(state, AFTER) is Reason.OPTED_OUT  # and re-keyed when met
    with pytest.raises(TokenError):
        optout.check(keys, make_token("a-key-of-neither", "abc"))
    with pytest.raises(TokenError):  # expired stays expired under every key
        optout.check(keys, make_token("old-unsubscribe", "abc", ttl_s=-10))


def test_stack_keys_are_reread_so_a_rotation_reaches_warm_containers() -> None:
    now = [0.0]
    values = [(OLD,)]
    keys = StackKeys(lambda: values[-1], clock=lambda: now[0])
    assert keys() == (OLD,)
    values.append((NEW, OLD))
    assert keys() == (OLD,)  # cached
    now[0] += REFRESH_S
    assert keys() == (NEW, OLD)


def test_a_failed_reread_keeps_the_keys_and_a_failed_first_read_is_fatal() -> None:
    now = [0.0]
    calls: list[int] = []

    def read() -> tuple[str, ...]:
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("throttled")
        return (OLD,)

    keys = StackKeys(read, clock=lambda: now[0])
    assert keys() == (OLD,)
    now[0] += REFRESH_S
    assert keys() == (OLD,)

    def broken() -> tuple[str, ...]:
        raise RuntimeError("no secret")

    with pytest.raises(ConfigError):
        StackKeys(broken)()
