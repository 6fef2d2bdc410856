"""The opt-out register: hashes only. Filled by the one-click unsubscribe link and by SES
bounces and complaints, read by triage (policy) and by the mailer right before sending."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from socialcare.brand import Brand
from socialcare.hashing import Hasher
from socialcare.identity.policy import FOREVER_S, address_optout_key, optout_key, register
from socialcare.observability import logger
from socialcare.outreach.unsubscribe import TokenError, UnsubscribeKey, verify_any
from socialcare.ports import State


def unsubscribe(state: State, keys: Sequence[UnsubscribeKey], token: str) -> str:
    """Record the opt-out for a valid token; return the customer hash. TokenError if not.

    A link signed before a key rotation carries the hash under the previous key: the
    entry is stored under that key (its `kid`), and re-keyed when the customer is next
    looked up (policy.registered)."""
    customer_hash, kid = verify_any(keys, token)
    register(state, optout_key(customer_hash), "unsubscribe", kid)
    logger.info("opted out", extra={"customer_hash": customer_hash, "via": "unsubscribe"})
    return customer_hash


def check(keys: Sequence[UnsubscribeKey], token: str) -> str:
    """Validate a token without recording anything (the GET confirmation page)."""
    return verify_any(keys, token)[0]


def page(
    brand: Brand,
    title: str,
    text: str,
    *,
    form_token: str | None = None,
    action: str = "Afmeld / Unsubscribe",
) -> str:
    """A short, plain page in Danish and English; its form POSTs the token (the one-click
    opt-out, or `action` on another link's page)."""
    button = ""
    if form_token is not None:
        button = (
            '<form method="post"><input type="hidden" name="token" value="'
            f'{escape(form_token)}"><button type="submit">{escape(action)}</button></form>'
        )
    return (
        f'<!doctype html><html lang="da"><head><meta charset="utf-8"><title>{escape(title)}'
        '</title><meta name="viewport" content="width=device-width"></head>'
        f'<body style="font-family: sans-serif; max-width: 36em; margin: 2em auto">'
        f"<h1>{escape(title)}</h1><p>{escape(text)}</p>{button}"
        f'<p><a href="{escape(brand.privacy_notice_url)}">{escape(brand.name)}</a></p>'
        "</body></html>"
    )


def ses_event(message: dict[str, Any], state: State, hasher: Hasher) -> int:
    """Add the addresses of permanent bounces and of complaints to the register."""
    kind = message.get("eventType") or message.get("notificationType")
    addresses: list[str] = []
    if kind == "Bounce" and message.get("bounce", {}).get("bounceType") == "Permanent":
        addresses = [
            r.get("emailAddress", "") for r in message["bounce"].get("bouncedRecipients", [])
        ]
    elif kind == "Complaint":
        addresses = [
            r.get("emailAddress", "")
            for r in message.get("complaint", {}).get("complainedRecipients", [])
        ]
    for address in filter(None, addresses):
        key = address_optout_key(hasher.address(address))
        register(state, key, str(kind).lower(), hasher.kids[0])
    logger.info("SES event", extra={"kind": kind, "opted_out": len(addresses)})
    return len(addresses)


__all__ = ["FOREVER_S", "TokenError", "check", "page", "register", "ses_event", "unsubscribe"]
