"""Every stored format has a version: state items in DynamoDB (on moto), written with it;
older ones (no version) read as before; newer ones refused with the command that fixes it."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from socialcare import formats
from socialcare.adapters.dynamodb import DynamoState
from socialcare.errors import FormatError
from socialcare.identity.policy import person_key
from tests.integration import state_table

TABLE = "state"


@pytest.fixture
def table(aws: str) -> tuple[Any, DynamoState]:
    client = boto3.client("dynamodb")
    state_table.create(client, TABLE)
    return client, DynamoState(client, TABLE)


def stored(client: Any, key: str) -> dict[str, Any]:
    return dict(client.get_item(TableName=TABLE, Key={"pk": {"S": key}})["Item"])


def test_every_write_carries_the_format_version(table: tuple[Any, DynamoState]) -> None:
    client, state = table
    state.put_cursor("x", '{"v": 1}')
    state.claim(person_key("h1"), "m1", 3600)
    state.incr("rate#2030010107", ttl_s=7200)
    for key in ("cursor#x", "person#h1", "rate#2030010107"):
        assert stored(client, key)["v"] == {"N": "1"}, key
    state.update(person_key("h1"), "m1", state="sent")  # an update keeps it
    assert stored(client, "person#h1")["v"] == {"N": "1"}


def test_items_written_before_versions_read_as_version_one(
    table: tuple[Any, DynamoState],
) -> None:
    client, state = table
    client.put_item(TableName=TABLE, Item={"pk": {"S": "cursor#x"}, "cursor": {"S": "42"}})
    client.put_item(
        TableName=TABLE,
        Item={"pk": {"S": "person#h1"}, "owner": {"S": "m1"}, "expires_at": {"N": "9999999999"}},
    )
    assert state.get_cursor("x") == "42"
    assert (state.holder("person#h1") or {})["owner"] == "m1"
    state.put_cursor("x", "43")  # migrated on the next write
    assert stored(client, "cursor#x")["v"] == {"N": "1"}


def test_a_newer_cursor_is_refused_naming_how_to_start_over(
    table: tuple[Any, DynamoState],
) -> None:
    client, state = table
    client.put_item(
        TableName=TABLE,
        Item={"pk": {"S": "cursor#x"}, "cursor": {"S": "{}"}, "v": {"N": "2"}},
    )
    with pytest.raises(FormatError) as refused:
        state.get_cursor("x")
    message = str(refused.value)
    assert "format 2" in message and "sam deploy" in message
    assert f"aws dynamodb delete-item --table-name {TABLE}" in message and "cursor#x" in message


def test_a_newer_person_key_is_refused(table: tuple[Any, DynamoState]) -> None:
    client, state = table
    client.put_item(
        TableName=TABLE,
        Item={
            "pk": {"S": "person#h1"},
            "owner": {"S": "m1"},
            "expires_at": {"N": "9999999999"},
            "v": {"N": str(formats.STATE_ITEMS["person"] + 1)},
        },
    )
    with pytest.raises(FormatError, match="sam deploy"):
        state.holder("person#h1")
