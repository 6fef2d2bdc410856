import pytest

from socialcare.sources.base import retry_after_seconds

NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "30"}, 30),
        ({"x-rate-limit-reset": str(int(NOW) + 120)}, 120),  # X: epoch seconds
        ({"RateLimit-Reset": str(int(NOW) + 60)}, 60),  # Bluesky: epoch seconds
        ({"X-RateLimit-Reset": "2027-01-15T08:00:10.000Z"}, 10),  # Mastodon: ISO
        ({"Retry-After": "Fri, 15 Jan 2027 08:00:20 GMT"}, 20),  # HTTP date
        ({}, None),
        ({"Retry-After": "soon"}, None),
    ],
)
def test_every_platform_reset_header(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_seconds(headers, now=NOW) == expected
