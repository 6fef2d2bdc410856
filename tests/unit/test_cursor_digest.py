"""Cursors remember posts by keyed digest: a post id (a Bluesky at:// URI names its
author) in the state table cannot be confirmed by hashing a guess without the key."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from socialcare.keyring import derived_secret
from socialcare.sources import sweep
from socialcare.wiring import fetch_runtime

POST = "at://did:plc:abc123/app.bsky.feed.post/3kxyz"


@pytest.fixture(autouse=True)
def restore_key() -> Iterator[None]:
    saved = sweep._digest_key
    yield
    sweep._digest_key = saved


def test_digests_depend_on_the_key_and_are_not_bare_hashes() -> None:
    sweep.use_digest_key("one-key-of-the-stack")
    first = sweep.digest(POST)
    assert first == sweep.digest(POST)  # stable across containers with the same key
    assert first != hashlib.sha256(POST.encode()).hexdigest()[:16]
    sweep.use_digest_key("another-key")
    assert sweep.digest(POST) != first


def test_the_fetch_function_keys_its_digests_with_the_stacks_cursor_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = "the-stack-hash-key-0123456789"
    env = {"STATE_TABLE": "t", "MENTIONS_QUEUE_URL": "q", "SOCIALCARE_HASH_KEY": key}
    runtime = fetch_runtime({**env, "REPLAY_URL": "http://127.0.0.1:9/pages"})
    runtime.source("replay")  # a run's source: the key is set before its first page
    assert sweep._digest_key == derived_secret(key, "cursor").encode()
