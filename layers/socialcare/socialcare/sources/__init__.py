"""Sources of public mentions, each behind the `Source` port (socialcare.ports).

Each platform is one module here with `NAME`, a pure `parse_page(body, own_accounts=())
-> (mentions, invalid)` and `build(ctx) -> Source`. PLATFORMS maps source names to those
modules, imported only when used. A new platform is a module plus one line below; the
`socialcare parse` command and the fetch function find it through this registry.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Collection
from datetime import datetime
from types import ModuleType
from typing import TYPE_CHECKING, Any

from socialcare.errors import ConfigError
from socialcare.models import Mention
from socialcare.sources.ports import Source

if TYPE_CHECKING:
    import requests  # made with the first request (ReceiveWebhook's events may need none)

PLATFORMS: dict[str, str] = {
    "x": "socialcare.sources.x",
    "bluesky": "socialcare.sources.bluesky",
    "mastodon": "socialcare.sources.mastodon",
    "trustpilot": "socialcare.sources.trustpilot",
    "reddit": "socialcare.sources.reddit",
    "facebook": "socialcare.sources.facebook",
    "instagram": "socialcare.sources.instagram",
    "threads": "socialcare.sources.threads",
    "google": "socialcare.sources.google",
}

Parser = Callable[..., tuple[list[Mention], int]]


def platform(name: str) -> ModuleType:
    if name not in PLATFORMS:
        raise ConfigError(f"unknown source {name!r} (known: {', '.join(sorted(PLATFORMS))})")
    return importlib.import_module(PLATFORMS[name])


def parse_page(
    name: str, body: Any, own_accounts: Collection[str] = ()
) -> tuple[list[Mention], int]:
    """Normalise one recorded response body of platform `name` (see `socialcare parse`)."""
    parse: Parser = platform(name).parse_page
    return parse(body, own_accounts)


def build_source(
    name: str,
    settings: Any,
    session: requests.Session,
    secrets: Callable[[str], Any],
    brand: Any = None,
    clock: Callable[[], datetime] | None = None,
) -> Source:
    """The platform source `name`, configured from FetchSettings and brand.toml.

    `secrets(secret_id)` returns the source's secret as a JSON object; it is called when
    the source first needs its credentials, inside the run.
    """
    from socialcare.brand import load_brand
    from socialcare.sources.context import SourceContext

    module = platform(name)
    extra = {"clock": clock} if clock else {}
    ctx = SourceContext(settings, session, secrets, brand or load_brand(), **extra)
    source: Source = module.build(ctx)
    return source


def build_reader(
    name: str, settings: Any, session: requests.Session, secrets: Callable[[str], Any], brand: Any
) -> Any:
    """What a push route reads notified posts back with: the module's `reader(ctx)` (an API
    client) where it has one, else its polling source (Trustpilot's has `review(id)`)."""
    from socialcare.sources.context import SourceContext

    module = platform(name)
    ctx = SourceContext(settings, session, secrets, brand)
    return getattr(module, "reader", module.build)(ctx)
