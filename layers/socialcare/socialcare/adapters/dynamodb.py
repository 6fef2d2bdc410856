"""The state table: fetch cursors, seen-post keys, per-person claims, counters.

Keys are `kind#value` strings where value is a keyed hash (or a source name for cursors).
`expires_at` is the table's TTL attribute; conditions check it too, because DynamoDB
deletes expired items lazily. `v` is the item's format version (socialcare.formats).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from socialcare import formats
from socialcare.errors import NotTheHolder, RetryableError

_RETRYABLE = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
}


def _now() -> int:
    return int(time.time())


class DynamoState:
    def __init__(self, client: Any, table: str) -> None:
        self._db = client
        self._table = table

    def _call(self, op: str, **kwargs: Any) -> Any:
        return self._request(op, TableName=self._table, **kwargs)

    def _request(self, op: str, **kwargs: Any) -> Any:
        try:
            return getattr(self._db, op)(**kwargs)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in _RETRYABLE:
                raise RetryableError(f"state table {op}: {exc.response['Error']['Code']}") from exc
            raise

    def _version(self, key: str) -> dict[str, str]:
        return {"N": str(formats.state_version(key))}

    def _check(self, key: str, item: dict[str, Any]) -> None:
        fix = formats.ROLL_FORWARD
        if key.startswith("cursor#"):  # or forget it: the next run reads back MaxPostAgeHours
            fix += (
                f", or start the source over: aws dynamodb delete-item --table-name "
                f"""{self._table} --key '{{"pk": {{"S": "{key}"}}}}'"""
            )
        found = item.get("v", {}).get("N")
        formats.check(f"state item {key.split('#')[0]}#…", found, formats.state_version(key), fix)

    def get_cursor(self, source: str) -> str | None:
        key = f"cursor#{source}"
        item = self._call("get_item", Key={"pk": {"S": key}}, ConsistentRead=True).get("Item")
        if not item:
            return None
        self._check(key, item)
        return item.get("cursor", {}).get("S")

    def put_cursor(self, source: str, cursor: str) -> None:
        key = f"cursor#{source}"
        self._call(
            "put_item",
            Item={
                "pk": {"S": key},
                "cursor": {"S": cursor},
                "updated_at": {"N": str(_now())},
                "v": self._version(key),
            },
        )

    def claim(
        self, key: str, owner: str, ttl_s: int, *, reentrant: bool = False, **attrs: str
    ) -> bool:
        condition = "attribute_not_exists(pk) OR expires_at < :now"
        if reentrant:
            condition += " OR #owner = :owner"
        try:
            self._call(
                "put_item",
                Item={
                    **{k: {"S": v} for k, v in attrs.items()},
                    "pk": {"S": key},
                    "owner": {"S": owner},
                    "expires_at": {"N": str(_now() + ttl_s)},
                    "v": self._version(key),
                },
                ConditionExpression=condition,
                ExpressionAttributeValues={
                    ":now": {"N": str(_now())},
                    **({":owner": {"S": owner}} if reentrant else {}),
                },
                **({"ExpressionAttributeNames": {"#owner": "owner"}} if reentrant else {}),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def holder(self, key: str) -> dict[str, str] | None:
        item = self._call("get_item", Key={"pk": {"S": key}}, ConsistentRead=True).get("Item")
        return self._live(key, item)

    def holders(self, keys: Sequence[str]) -> dict[str, dict[str, str]]:
        """One BatchGetItem (consistent reads, at most 100 keys); keys DynamoDB leaves
        unprocessed (throttling) are asked again, twice."""
        pending = [{"pk": {"S": key}} for key in dict.fromkeys(keys)]  # no key twice
        found: dict[str, dict[str, str]] = {}
        for attempt in range(3):
            if not pending:
                return found
            if attempt:  # DynamoDB's advice: back off before asking again
                time.sleep(0.05 * 2**attempt)
            out = self._request(
                "batch_get_item",
                RequestItems={self._table: {"Keys": pending, "ConsistentRead": True}},
            )
            for item in out.get("Responses", {}).get(self._table, []):
                if live := self._live(item["pk"]["S"], item):
                    found[item["pk"]["S"]] = live
            pending = out.get("UnprocessedKeys", {}).get(self._table, {}).get("Keys", [])
        if pending:
            raise RetryableError(f"state table batch_get_item: {len(pending)} keys unprocessed")
        return found

    def _live(self, key: str, item: dict[str, Any] | None) -> dict[str, str] | None:
        """An item as a flat dict, or None when absent or lapsed (deleted lazily)."""
        if not item or int(item.get("expires_at", {}).get("N", "0")) < _now():
            return None
        self._check(key, item)
        return {k: next(iter(v.values())) for k, v in item.items()}

    def update(self, key: str, owner: str, *, ttl_s: int | None = None, **attrs: str) -> None:
        names = {f"#a{i}": k for i, k in enumerate(attrs)}
        values: dict[str, Any] = {f":v{i}": {"S": v} for i, v in enumerate(attrs.values())}
        sets = ", ".join(f"#a{i} = :v{i}" for i in range(len(attrs)))
        if ttl_s is not None:
            names["#exp"] = "expires_at"
            values[":exp"] = {"N": str(_now() + ttl_s)}
            sets = ", ".join(filter(None, [sets, "#exp = :exp"]))
        try:
            self._call(
                "update_item",
                Key={"pk": {"S": key}},
                UpdateExpression=f"SET {sets}",
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={**names, "#owner": "owner"},
                ExpressionAttributeValues={**values, ":owner": {"S": owner}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise NotTheHolder(f"{key.split('#')[0]} key is held by another owner") from exc
            raise

    def advance(
        self, key: str, owner: str, *, expect: str, ttl_s: int | None = None, **attrs: str
    ) -> bool:
        names = {f"#a{i}": k for i, k in enumerate(attrs)}
        values = {f":v{i}": {"S": v} for i, v in enumerate(attrs.values())}
        sets = [f"#a{i} = :v{i}" for i in range(len(attrs))]
        if ttl_s is not None:
            sets.append("expires_at = :exp")
            values[":exp"] = {"N": str(_now() + ttl_s)}
        try:
            self._call(
                "update_item",
                Key={"pk": {"S": key}},
                UpdateExpression=f"SET {', '.join(sets)}",
                # Not lapsed either: DynamoDB deletes expired items lazily.
                ConditionExpression="#owner = :owner AND #st = :expect AND expires_at >= :now",
                ExpressionAttributeNames={**names, "#owner": "owner", "#st": "state"},
                ExpressionAttributeValues={
                    **values,
                    ":owner": {"S": owner},
                    ":expect": {"S": expect},
                    ":now": {"N": str(_now())},
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release(self, key: str, owner: str, *, expect: str | None = None) -> bool:
        condition, names = "#owner = :owner", {"#owner": "owner"}
        values = {":owner": {"S": owner}}
        if expect is not None:
            condition += " AND #st = :expect"
            names["#st"], values[":expect"] = "state", {"S": expect}
        try:
            self._call(
                "delete_item",
                Key={"pk": {"S": key}},
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def incr(self, key: str, ttl_s: int, by: int = 1) -> int:
        out = self._call(
            "update_item",
            Key={"pk": {"S": key}},
            UpdateExpression="ADD #n :by SET expires_at = if_not_exists(expires_at, :exp), v = :v",
            ExpressionAttributeNames={"#n": "n"},
            ExpressionAttributeValues={
                ":by": {"N": str(by)},
                ":exp": {"N": str(_now() + ttl_s)},
                ":v": self._version(key),
            },
            ReturnValues="UPDATED_NEW",
        )
        return int(out["Attributes"]["n"]["N"])
