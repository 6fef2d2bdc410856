"""E-mail addresses as SES takes them: one plain `local@domain`, 7-bit ASCII.

SES does not support SMTPUTF8 (RFC 6531): the local part must be ASCII and a non-ASCII
domain goes as Punycode. A CRM field can hold anything: CR/LF (header injection), a
display name, a group (`undisclosed:;`), several addresses, or 4,000 characters that the
MIME writer folds for minutes. Such a value is no address: the customer reads as having
none (`no_email`), and nothing is claimed or sent.
"""

from __future__ import annotations

import re
from functools import lru_cache

MAX_ADDRESS = 254  # RFC 5321: a forward path holds at most 256 octets, with its <>
MAX_LOCAL = 64
# RFC 5322 dot-atom: atext runs joined by single dots (no quoted local parts, no comments).
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def normalise(value: object) -> str | None:
    """The address as it goes on the wire (domain in Punycode), or None if `value` is not
    exactly one plain address."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if len(text) > MAX_ADDRESS or text.count("@") != 1:
        return None
    local, domain = text.split("@")
    if len(local) > MAX_LOCAL or not _LOCAL.fullmatch(local):
        return None
    ascii_domain = _domain(domain)
    if ascii_domain is None:
        return None
    address = f"{local}@{ascii_domain}"
    return address if len(address) <= MAX_ADDRESS else None


@lru_cache(maxsize=4096)
def _domain(domain: str) -> str | None:
    """The domain in Punycode if it is a usable host name. Cached: a directory's million
    addresses share a few thousand domains, and IDNA encoding is the slow part."""
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:  # an empty or over-long label, characters IDNA refuses
        return None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        return None
    return ascii_domain
