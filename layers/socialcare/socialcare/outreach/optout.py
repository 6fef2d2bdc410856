"""The opt-out register: hashes only. Filled by the one-click unsubscribe link and by SES
bounces and complaints, read by triage (policy) and by the mailer right before sending."""

from __future__ import annotations

from html import escape
from typing import Any

from socialcare.brand import Brand
from socialcare.hashing import Hasher
from socialcare.identity.policy import address_optout_key, optout_key
from socialcare.observability import count, logger
from socialcare.outreach.unsubscribe import TokenError, verify_token
from socialcare.ports import State

FOREVER_S = 10 * 365 * 86_400  # an opt-out does not lapse; the TTL only bounds the table


def register(state: State, key: str, why: str) -> None:
    """Idempotent: a second opt-out of the same person (a bounce, then a complaint, then
    the link) finds the key held and leaves the first reason in place."""
    if state.claim(key, why, FOREVER_S, reentrant=True):
        state.update(key, why, reason=why)


def unsubscribe(state: State, secret: str, token: str) -> str:
    """Record the opt-out for a valid token; return the customer hash. TokenError if not."""
    customer_hash = verify_token(secret, token)
    register(state, optout_key(customer_hash), "unsubscribe")
    count("OptOuts", via="unsubscribe")
    logger.info("opted out", extra={"customer_hash": customer_hash, "via": "unsubscribe"})
    return customer_hash


def check(secret: str, token: str) -> str:
    """Validate a token without recording anything (the GET confirmation page)."""
    return verify_token(secret, token)


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
        register(state, address_optout_key(hasher.address(address)), str(kind).lower())
    if kind in ("Bounce", "Complaint"):
        count("EmailEvents", kind=str(kind))
    logger.info("SES event", extra={"kind": kind, "opted_out": len(addresses)})
    return len(addresses)


__all__ = ["TokenError", "check", "page", "register", "ses_event", "unsubscribe"]
