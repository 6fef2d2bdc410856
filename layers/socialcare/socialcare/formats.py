"""The version of every format socialcare stores, and what a reader does with another one.

Stored things outlive the code that wrote them: a deploy meets the state items, cursors
and pilot list its predecessor left. Each carries its format's version. An older one is
migrated on read (so far no change altered a layout, so an item without a version, written
before versions existed, reads as version 1); a newer one, met after a rollback, is refused
with a FormatError naming the command that fixes it. CHANGELOG.md gives each change its
upgrade step; docs/deploy.md ("Upgrades") lists the formats.

The SQLite CRM directory keeps its schema version in the file (PRAGMA user_version) and
identity.sqlite_crm refuses any other with the `socialcare crm-import` command to rebuild it.
"""

from __future__ import annotations

from socialcare.errors import FormatError

# State-table items by the kind in their key (`kind#value`). Bump a kind when its
# attributes change, and migrate the older version where DynamoState reads it.
STATE_ITEMS = {"cursor": 1, "seen": 1, "person": 1, "optout": 1, "rate": 1, "pause": 1}
PILOT_LIST = 1  # the pilot audience's SSM parameter (operations.pilot)
REVIEW_LINK = 1  # the sealed payload of a review e-mail's Approve and Reject links

ROLL_FORWARD = "deploy the newer socialcare again (sam deploy; see CHANGELOG.md)"


def state_version(key: str) -> int:
    return STATE_ITEMS.get(key.split("#", 1)[0], 1)


def check(what: str, found: object, current: int, fix: str = ROLL_FORWARD) -> int:
    """The version `found` on a stored `what` (none: 1), or FormatError if this code
    cannot read it."""
    try:
        version = 1 if found is None or found == "" else int(str(found))
    except ValueError:
        raise FormatError(f"{what} has an unreadable format version; {fix}") from None
    if version > current:
        raise FormatError(
            f"{what} has format {version}, newer than this socialcare reads ({current}): {fix}"
        )
    return version
