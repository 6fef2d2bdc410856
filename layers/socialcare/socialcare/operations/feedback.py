"""Agents mark a digest decision wrong: a signed link per decision, a confirmation page
(GET changes nothing, so mail scanners cannot mark anything), and a POST that records
the mark once, audited without content: the mention's hash, the reason and the source.

With DigestDecisions (per reason, from the digest) this measures precision before
go-live: 1 - MarkedWrong / DigestDecisions, reason by reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from socialcare.brand import Brand
from socialcare.models import Decision, Reason
from socialcare.observability import count, logger
from socialcare.outreach.optout import page
from socialcare.outreach.unsubscribe import TokenError, make_token, verify_any
from socialcare.ports import State

LINK_TTL_S = 14 * 86_400  # a mark is remembered as long as its link works
_CODES = frozenset(r.value for r in Reason)


@dataclass(frozen=True)
class Marked:
    mention_id: str  # keyed hash
    reason: str
    source: str


def wrong_key(mention_id: str) -> str:
    return f"wrong#{mention_id}"


def link(base: str, secret: str, decision: Decision) -> str:
    """The mark-wrong link of one decision: hashes and codes only, signed (with the key of
    purpose "digest", wiring.py) and expiring."""
    payload = f"{decision.mention_id}-{decision.reason.value}-{decision.source}"
    token = make_token(secret, payload, ttl_s=LINK_TTL_S)
    return f"{base}{'&' if '?' in base else '?'}token={quote(token)}"


def verify(secrets: Sequence[str], token: str) -> Marked:
    """The decision a token was made for, or TokenError (forged, altered, expired).
    `secrets`: the current key's first, then the previous one's (keyring.py)."""
    payload, _ = verify_any([(secret, "") for secret in secrets], token)
    parts = payload.split("-", 2)
    if len(parts) != 3 or parts[1] not in _CODES:
        raise TokenError("malformed token", status=400)
    return Marked(*parts)


def mark_wrong(state: State, secrets: Sequence[str], token: str) -> tuple[Marked, bool]:
    """Record the mark for a valid token; True the first time, False when it was already
    marked (a second click counts once)."""
    marked = verify(secrets, token)
    first = state.claim(wrong_key(marked.mention_id), marked.reason, LINK_TTL_S)
    if first:
        count("MarkedWrong")  # by reason: the line below
    logger.info(
        "decision marked wrong",
        extra={
            "mention_id": marked.mention_id,
            "reason": marked.reason,
            "source": marked.source,
            "first": first,
        },
    )
    return marked, first


# The pages, in Danish and English as the unsubscribe page: (HTTP status, HTML).
TITLE = "Forkert beslutning / Wrong decision"


def confirm_page(secrets: Sequence[str], brand: Brand, token: str) -> tuple[int, str]:
    """GET: the question and a button that POSTs the token; nothing is recorded."""
    try:
        marked = verify(secrets, token)
    except TokenError as error:
        return _refused(brand, error)
    text = f"Markér beslutningen som forkert? / Mark this decision wrong? ({marked.reason})"
    return 200, page(brand, TITLE, text, form_token=token, action="Forkert / Wrong")


def record_page(state: State, secrets: Sequence[str], brand: Brand, token: str) -> tuple[int, str]:
    """POST: the mark, once; a second POST says it was noted already."""
    try:
        _, first = mark_wrong(state, secrets, token)
    except TokenError as error:
        return _refused(brand, error)
    text = "Tak, noteret. / Thanks, noted." if first else "Allerede noteret. / Already noted."
    return 200, page(brand, TITLE, text)


def _refused(brand: Brand, error: TokenError) -> tuple[int, str]:
    logger.warning("mark-wrong link refused", extra={"error": str(error), "status": error.status})
    text = "Linket er ugyldigt eller udløbet. / The link is invalid or expired."
    return error.status, page(brand, "Linket virker ikke / The link does not work", text)


__all__ = ["LINK_TTL_S", "Marked", "confirm_page", "link", "record_page", "verify"]
