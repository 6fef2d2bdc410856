import pytest

from socialcare.hashing import Hasher
from socialcare.outreach.unsubscribe import TokenError, make_token, verify_token

SECRET = "unsubscribe-secret-for-tests"


def test_keyed_hash_depends_on_key_and_kind() -> None:
    a, b = Hasher("k" * 16), Hasher("j" * 16)
    assert a.person("C-1") == a.person("C-1")
    assert a.person("C-1") != b.person("C-1")
    assert a.person("C-1") != a.mention("C-1")
    assert a.address("Mette@Example.net ") == a.address("mette@example.net")


def test_short_keys_are_refused() -> None:
    with pytest.raises(ValueError):
        Hasher("short")


def test_token_round_trip() -> None:
    assert verify_token(SECRET, make_token(SECRET, "abc123")) == "abc123"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t.replace("abc123", "abc124"),  # altered customer hash
        lambda t: t[:-1] + ("0" if t[-1] != "0" else "1"),  # altered signature
        lambda t: "abc123.9999999999.deadbeef",  # forged
        lambda t: "not-a-token",
        lambda t: "",
    ],
)
def test_forged_or_altered_tokens_fail(mutate) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TokenError):
        verify_token(SECRET, mutate(make_token(SECRET, "abc123")))


def test_expired_tokens_fail() -> None:
    token = make_token(SECRET, "abc123", ttl_s=10, now=1_000)
    assert verify_token(SECRET, token, now=1_005) == "abc123"
    with pytest.raises(TokenError):
        verify_token(SECRET, token, now=1_011)


def test_token_from_other_secret_fails() -> None:
    with pytest.raises(TokenError):
        verify_token(SECRET, make_token("another-secret-entirely", "abc123"))
