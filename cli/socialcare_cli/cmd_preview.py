"""`socialcare preview`: print the e-mail exactly as it would be sent, readable.

Headers first, then the text part and the HTML part decoded (no quoted-printable), so
the copy can be reviewed without deploying. Offline: example values come from the brand
configuration.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from email import message_from_bytes, policy
from typing import Any

from socialcare.adapters.memory import MemoryCrm, MemoryMailer, MemorySealer, MemoryState
from socialcare.brand import Brand
from socialcare.hashing import Hasher
from socialcare.models import TOPICS, OutreachRequest
from socialcare.outreach.approval import ReviewLinks
from socialcare.outreach.mailer import MailerDeps, build_email
from socialcare.outreach.render import PLATFORMS
from socialcare.outreach.ses import mime_bytes
from socialcare_cli.options import add_brand_option, email_languages, load_cli_brand


def register(sub: Any) -> None:
    cmd = sub.add_parser("preview", help="print a rendered outreach e-mail (headers, text, HTML)")
    cmd.add_argument(
        "--lang",
        default=None,
        choices=email_languages(),
        help="the e-mail's language (default: the brand's default_language)",
    )
    cmd.add_argument("--name", default="", help="the customer's first name (may be empty)")
    cmd.add_argument(
        "--topic",
        default="general",
        choices=[*TOPICS, "general"],
        help="the complaint's topic, which picks the paragraph about it (default: general)",
    )
    cmd.add_argument(
        "--source",
        default="x",
        choices=sorted(PLATFORMS),
        help="the platform the post was seen on (default: x)",
    )
    cmd.add_argument(
        "--mode",
        default="live",
        choices=["live", "review"],
        help="live: as the customer gets it; review: as agents get it, with the why-block",
    )
    add_brand_option(cmd)
    cmd.set_defaults(func=run)


def _domain(brand: Brand) -> str:
    return brand.website.split("//")[-1].split("/")[0]


def preview_deps(brand: Brand) -> MailerDeps:
    """The mailer's dependencies with the brand's example addresses; nothing real behind
    them (also the e-mails of `socialcare decide --report`)."""
    domain = _domain(brand)
    sender = brand.example_sender or f"kundeservice@{domain}"
    return MailerDeps(
        brand=brand,
        mailer=MemoryMailer(),
        crm=MemoryCrm(),
        state=MemoryState(),
        hasher=Hasher("preview-only-hash-key"),
        sender=sender,
        reply_to=brand.example_reply_to or sender,
        unsubscribe_base="",
        unsubscribe_secret="preview-only",  # noqa: S106 - previews sign nothing real
        review_address=f"agents@{domain}",
    )


def render_preview(args: argparse.Namespace) -> str:
    brand = load_cli_brand(args.brand_file, "socialcare preview")
    domain = _domain(brand)
    deps = preview_deps(brand)
    request = OutreachRequest(
        mention_id="0" * 32,
        fetch_id="preview",
        customer_ref="C-EXAMPLE",
        customer_hash="0" * 32,
        email=f"customer@{domain}",
        first_name=args.name,
        language=args.lang or brand.default_language,
        topics=[] if args.topic == "general" else [args.topic],
        source=args.source,
        post_url=f"https://{domain}/example-post",
        post_created_at=datetime.now(UTC),
    )
    # Review copies carry an agent's Approve and Reject links (sealed only when deployed).
    links = ReviewLinks(f"https://review.{domain}/", MemorySealer()).make(
        request, request.post_created_at
    )
    raw = mime_bytes(build_email(request, deps, args.mode, links))
    message = message_from_bytes(raw, policy=policy.default)
    lines = [
        f"{key}: {value}"
        for key, value in message.items()
        if key.lower() not in ("content-type", "mime-version", "content-transfer-encoding")
    ]
    for part in message.walk():
        if part.get_content_maintype() == "text":
            text = part.get_content().replace("\r\n", "\n").rstrip()
            lines += ["", f"----- {part.get_content_type()} -----", text]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    print(render_preview(args), end="")
    return 0
