"""DynamoState.holders when DynamoDB leaves keys unprocessed (throttling): asked again,
then a retryable error, never a silent miss (the logic; tests/integration/test_state_reads.py
runs it on moto)."""

from __future__ import annotations

from typing import Any

import pytest

from socialcare.adapters import dynamodb
from socialcare.adapters.dynamodb import DynamoState
from socialcare.errors import RetryableError

HELD = {"pk": {"S": "optout#a"}, "owner": {"S": "o"}, "expires_at": {"N": "9999999999"}}


class Throttled:
    """BatchGetItem that leaves every key unprocessed `times` times, then answers."""

    def __init__(self, times: int) -> None:
        self.times, self.asked = times, []

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        keys = RequestItems["t"]["Keys"]
        self.asked.append([k["pk"]["S"] for k in keys])
        if len(self.asked) <= self.times:
            return {"Responses": {"t": []}, "UnprocessedKeys": {"t": {"Keys": keys}}}
        return {"Responses": {"t": [HELD]}, "UnprocessedKeys": {}}


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dynamodb.time, "sleep", lambda _: None)


def test_unprocessed_keys_are_asked_again() -> None:
    client = Throttled(times=2)
    assert set(DynamoState(client, "t").holders(["optout#a", "optout#b"])) == {"optout#a"}
    assert client.asked == [["optout#a", "optout#b"]] * 3


def test_keys_left_unprocessed_three_times_are_a_retryable_error() -> None:
    with pytest.raises(RetryableError, match="2 keys unprocessed"):
        DynamoState(Throttled(times=3), "t").holders(["optout#a", "optout#b"])
