"""Where a post sits: the parts of placement that several sources read the same way.

A post is `addressed` when it is directed at us whether or not it names the brand: a
review of our business unit, a comment on our Page's post or our media, a tag or an
@-mention of our account, a reply in a thread our account started. Each source decides
from its own payload; these helpers are what the text-first platforms share.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from typing import Any


def mentions_handle(text: str, own: Collection[str]) -> bool:
    """True when the text @-mentions one of our handles ("@lynetbredbaand",
    "@lynet.bsky.social", "@lynet@mastodon.social"), as a whole handle."""
    handles = sorted((h for h in own if h and not h.isdigit()), key=len, reverse=True)
    if not handles or "@" not in text:
        return False
    alternatives = "|".join(re.escape(h) for h in handles)
    # Not inside a longer handle or e-mail address: "@lynet_hjaelpX", "x@lynet.dk".
    pattern = rf"(?<![\w@.])@(?:{alternatives})(?![\w@-]|\.\w)"
    return re.search(pattern, text, re.IGNORECASE) is not None


def any_own(values: Iterable[Any], own: Collection[str]) -> bool:
    """True when one of the ids or names (as the payload gives them) is one of ours."""
    return any(isinstance(v, str) and v.lower().lstrip("@") in own for v in values)


def star_rating(value: Any) -> int | None:
    """A review's 1-5 stars; anything else (absent, 0, 4.5, "5", true) is no rating, so an
    odd rating never costs the review itself."""
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 5:
        return value
    return None
