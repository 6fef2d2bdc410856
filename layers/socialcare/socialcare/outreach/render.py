"""Render the outreach e-mail in the customer's language: text and HTML, from templates.

Nothing from the post is ever shown: the e-mail links to it. Names are cleaned of control
characters and cut to a sane length before rendering; HTML is autoescaped.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from socialcare.brand import Brand
from socialcare.triage.language import choose_language

PLATFORMS = {
    "x": "X",
    "bluesky": "Bluesky",
    "mastodon": "Mastodon",
    "facebook": "Facebook",
    "instagram": "Instagram",
    "trustpilot": "Trustpilot",
    "reddit": "Reddit",
    "replay": "sociale medier",
}
# Where people write reviews of us: the e-mail calls what they wrote a review
# ("anmeldelse"), not a post ("opslag"). Google Business reviews are to come.
REVIEW_SOURCES = frozenset({"trustpilot", "google"})
MAX_NAME = 40
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def clean_name(name: str | None) -> str:
    """A first name safe for a greeting and a header: no control, bidi-override or
    surrogate characters."""
    if not name:
        return ""
    text = _CONTROL.sub(" ", name)
    # Format characters (RTL overrides, zero-width) and lone surrogates (a cut emoji).
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cf", "Cs"))
    text = " ".join(text.split())
    return text[:MAX_NAME].strip()


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    language: str


@cache
def _env() -> Environment:
    return Environment(
        loader=PackageLoader("socialcare", "templates"),
        autoescape=select_autoescape(
            enabled_extensions=("html", "j2"), default=False, default_for_string=False
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def templates() -> Environment:
    """The package's templates (autoescaped HTML), also for the agents' digest."""
    return _env()


def render(
    *,
    brand: Brand,
    language: str,
    first_name: str | None,
    source: str,
    post_url: str | None,
    topics: list[str],
    unsubscribe_url: str,
) -> Rendered:
    lang = choose_language(language, default=brand.default_language)
    platform = PLATFORMS.get(source, source.capitalize())
    if lang == "en" and source == "replay":
        platform = "social media"
    context = {
        "brand": brand,
        "first_name": clean_name(first_name),
        "platform": platform,
        "review": source in REVIEW_SOURCES,
        "post_url": post_url if post_url and post_url.startswith("https://") else "",
        "topic": next((t for t in topics if t), "general"),
        "unsubscribe_url": unsubscribe_url,
        "sign_off": brand.sign_off if lang == "da" else (brand.sign_off_en or brand.sign_off),
    }
    env = _env()
    subject = env.get_template(f"{lang}/subject.txt").render(context).strip()
    text = env.get_template(f"{lang}/body.txt").render(context)
    html = env.get_template(f"{lang}/body.html.j2").render(context)
    return Rendered(subject=" ".join(subject.split()), text=text, html=html, language=lang)
