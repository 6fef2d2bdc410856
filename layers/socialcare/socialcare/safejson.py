"""JSON from outside (platforms, Meta, the CRM, SNS, files a user names): every failure is
a ValueError, and lone surrogates become U+FFFD.

`json.loads` raises RecursionError on deep nesting (a 1 MB body of "[[[[" is 500,000
levels), which slipped past every `except ValueError`; and it accepts `\\ud83d` escapes
(a truncated emoji) that no UTF-8 encoder takes back, so they crashed later, far from the
input: hashing, MIME, SQS. Both are settled here, where the text comes in.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import requests

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # json joins valid pairs: these are alone


class TooDeep(ValueError):
    """JSON nested deeper than the parser's recursion allows; its message quotes nothing."""

    def __init__(self) -> None:
        super().__init__("JSON nested too deeply")


def loads(data: str | bytes) -> Any:
    """`json.loads`, raising only ValueError (json.JSONDecodeError is one)."""
    try:
        value = json.loads(data)
    except RecursionError as exc:
        raise TooDeep from exc
    return scrub(value) if _has_escapes(data) else value


def response_json(response: requests.Response) -> Any:
    """`response.json()` (requests picks the encoding), with the guarantees of `loads`."""
    try:
        value = response.json()
    except RecursionError as exc:
        raise TooDeep from exc
    return scrub(value) if _has_escapes(response.content) else value


def _has_escapes(data: str | bytes) -> bool:
    if isinstance(data, bytes):
        return b"\\ud" in data or b"\\uD" in data
    return "\\ud" in data or "\\uD" in data


def clean(text: str) -> str:
    return _LONE_SURROGATE.sub("\ufffd", text)


def scrub(value: Any) -> Any:
    """Replace lone surrogates in every string (keys too), in place, without recursion."""
    if isinstance(value, str):
        return clean(value)
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            for i, item in enumerate(node):
                if isinstance(item, str):
                    node[i] = clean(item)
                elif isinstance(item, dict | list):
                    stack.append(item)
        elif isinstance(node, dict):
            for key, item in list(node.items()):
                if isinstance(item, str):
                    item = node[key] = clean(item)
                elif isinstance(item, dict | list):
                    stack.append(item)
                if isinstance(key, str) and (fixed := clean(key)) != key:
                    del node[key]
                    node[fixed] = item
    return value
