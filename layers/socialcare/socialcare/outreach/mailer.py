"""Send one outreach e-mail, at most once per person per cooldown, in the configured mode.

Order matters for "exactly once": the per-person key is claimed (conditional write) right
before sending and kept afterwards, with its progress (claimed, sent, recorded). A retry
that finds the key held by its own mention finishes the CRM record and sends nothing. A
failure that surely happened *before* SES got the message releases the key, so the retry
can send; a lost answer (read timeout) keeps it: at most one e-mail, never two.

Before the claim: a pilot audience (only its customers are e-mailed) and the send window
(outside it the request waits on the queue, unless its post would be stale by then).

Review mode holds the key for the review links' window (state `review`) and e-mails the
agents a copy with Approve and Reject links (outreach/approval.py). An approved request
comes back here and is checked again (staleness, opt-out, pilot, the CRM's contacts, other
hash keys, the window, the hourly cap) before it goes to the customer under that same
hold: `approved`, then `sending`. Nobody e-mailed: the hold is let go.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from socialcare import backoff
from socialcare.brand import Brand
from socialcare.errors import (
    ConfigError,
    CrmError,
    MailDeferred,
    MailOutcomeUnknown,
    MailRejected,
    MailThrottled,
)
from socialcare.hashing import Hasher
from socialcare.identity import policy
from socialcare.identity.ports import Crm
from socialcare.models import Decision, OutreachRequest, Reason
from socialcare.observability import count, logger
from socialcare.operations.pilot import Pilot
from socialcare.outreach.approval import APPROVED, REVIEW, SENDING, Links, ReviewLinks
from socialcare.outreach.ports import Email, Mailer
from socialcare.outreach.render import Rendered, render
from socialcare.outreach.unsubscribe import make_token
from socialcare.outreach.window import SendWindow
from socialcare.ports import Queue, State

# The customer's unsubscribe link is theirs alone: the agents' copy shows where it goes.
REVIEW_UNSUBSCRIBE = "https://afmeld.invalid/kundens-link"


@dataclass
class MailerDeps:
    brand: Brand
    mailer: Mailer
    crm: Crm
    state: State
    hasher: Hasher
    sender: str
    reply_to: str
    unsubscribe_base: str
    unsubscribe_secret: str
    review_address: str = ""
    max_post_age: timedelta = timedelta(hours=72)
    cooldown: timedelta = timedelta(days=30)
    max_per_hour: int = 50
    configuration_set: str = ""
    name_matching: str = "off"  # only "on" lets name matches go straight to the customer
    outcome: Queue | None = None  # OutcomeQueue: a live e-mail's outcome is measured a week on
    pilot: Pilot | None = None  # when set, only its customers are e-mailed
    window: SendWindow | None = None  # when set, e-mails go out only inside it
    review: ReviewLinks | None = None  # review mode's Approve and Reject links
    in_contact_hours: int = 72  # asked again of the CRM when an agent approves


def unsubscribe_url(deps: MailerDeps, customer_hash: str) -> str:
    token = make_token(deps.unsubscribe_secret, customer_hash)
    base = deps.unsubscribe_base or f"{deps.brand.website}/unsubscribe"
    return f"{base}{'&' if '?' in base else '?'}token={quote(token)}"


# SES throttling (sending rate, daily quota): wait about 30 s, 60 s, ... up to SQS's
# 15-minute delay, for at most MAX_THROTTLED rounds: 1.25 to 2.5 hours in all. A spent
# daily quota outlasts that: then the queue's retries and the DLQ (redrive once it resets).
MAX_THROTTLED = 14


def throttle_delay_s(times: int) -> int:
    """Exponential backoff with equal jitter: between half and all of 30 s * 2^times."""
    return backoff.delay_s(times)


def build_email(
    req: OutreachRequest, deps: MailerDeps, mode: str, links: Links | None = None
) -> Email:
    review = mode == "review"
    link = REVIEW_UNSUBSCRIBE if review else unsubscribe_url(deps, req.customer_hash)
    body: Rendered = render(
        brand=deps.brand,
        language=req.language,
        first_name=req.first_name,
        source=req.source,
        post_url=req.post_url,
        topics=req.topics,
        unsubscribe_url=link,
    )
    headers = {
        "List-Unsubscribe": f"<{link}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",  # RFC 8058 one-click
    }
    to, text, html = req.email, body.text, body.html
    if review:
        if links is None:
            raise ConfigError("a review copy needs its Approve and Reject links")
        # An agent reads this first; the block says who it would go to and why.
        block = (
            f"REVIEW: would go to {req.email} (customer {req.customer_ref}), matched by "
            f"{req.match}, topics {', '.join(req.topics) or '-'}, post {req.post_url or '-'}"
        )
        to, text = deps.review_address, f"{block}\n{_links_text(links)}\n\n{text}"
        html = _after_body_tag(html, f"<pre>{_escape(block)}</pre>\n{_links_html(links)}")
        # Not the customer's mailbox: the agent's mail client must not offer a one-click
        # unsubscribe that would opt the customer out.
        headers = {"X-Socialcare-Review": "1"}
    tags = {"source": req.source, "topic": (req.topics or ["general"])[0], "mode": mode}
    return Email(
        to=to,
        sender=deps.sender,
        reply_to=deps.reply_to,
        subject=body.subject,
        text=text,
        html=html,
        headers=headers,
        tags=tags,
    )


APPROVE = "Godkend og send til kunden / Approve and send to the customer"
REJECT = "Afvis / Reject"


def _expiry(links: Links) -> str:
    return f"{links.expires:%Y-%m-%d %H:%M} UTC"


def _links_text(links: Links) -> str:
    return (
        f"{APPROVE}: {links.approve}\n{REJECT}: {links.reject}\n"
        f"Linkene udløber / The links expire: {_expiry(links)}"
    )


def _links_html(links: Links) -> str:
    return (
        f'<p><a href="{_escape(links.approve)}"><b>{APPROVE}</b></a> &middot; '
        f'<a href="{_escape(links.reject)}">{REJECT}</a><br>'
        f"Linkene udløber / The links expire: {_expiry(links)}</p>\n<hr>\n"
    )


def _after_body_tag(html: str, insert: str) -> str:
    at = html.find("<body")
    end = html.find(">", at) + 1 if at >= 0 else 0
    return html[:end] + insert + html[end:]


def _escape(value: str) -> str:
    from html import escape

    return escape(value)


def send_outreach(
    req: OutreachRequest, deps: MailerDeps, mode: str, now: datetime | None = None
) -> Decision | None:
    """The mailer's decision, or None when SES refused the message for good."""
    now = now or datetime.now(UTC)
    if req.approved and mode != "shadow":
        mode = "live"  # an agent approved it for the customer; shadow, the kill switch, wins
    elif mode == "live" and req.match == "name" and deps.name_matching != "on":
        mode = "review"  # a name match goes to the agents first unless the company chose "on"
    base = {
        "mention_id": req.mention_id,
        "fetch_id": req.fetch_id,
        "source": req.source,
        "stage": "mailer",
        "customer_hash": req.customer_hash,
        "match": req.match,
        "language": req.language,
        "topics": req.topics,
    }
    key = policy.person_key(req.customer_hash)

    def decide(reason: Reason) -> Decision:
        if req.approved and reason is not Reason.CONTACT:
            deps.state.release(key, req.mention_id, expect=APPROVED)  # nobody e-mailed: let go
        decision = Decision.of(reason, **base)
        logger.info("decision", extra={**decision.model_dump(mode="json"), "mode": mode})
        if reason is Reason.CONTACT:
            count("Emailed", mode=mode)  # per source: the decision line
        else:
            count("Skipped")
        return decision

    # A DLQ redrive can come days later: never write about an old post.
    if now - req.post_created_at > deps.max_post_age:
        return decide(Reason.STALE)
    address_hash = deps.hasher.address(req.email)
    # Under triage's hash too: around a key rotation it may be a key this container has
    # not re-read yet.
    if deps.state.holder(policy.optout_key(req.customer_hash)) or policy.opted_out(
        deps.state, deps.hasher, req.customer_ref, req.email
    ):
        return decide(Reason.OPTED_OUT)
    if deps.pilot is not None and not deps.pilot.admits(req.customer_hash, address_hash):
        return decide(Reason.NOT_IN_PILOT)  # taken out of the pilot since triage
    if mode == "review" and not (deps.review_address and deps.review):
        raise ConfigError("review mode needs REVIEW_ADDRESS and REVIEW_URL")
    if mode == "shadow":
        build_email(req, deps, mode)  # rendered (a template error shows), nothing sent or claimed
        if req.approved:
            deps.state.release(key, req.mention_id, expect=APPROVED)  # the kill switch is on
        return decide(Reason.CONTACT)

    held = deps.state.holder(key)
    if held and held.get("owner") != req.mention_id:
        return decide(Reason.RECENTLY_CONTACTED)  # at once, not after waiting for the window
    approved = req.approved and held is not None and held.get("state") == APPROVED
    if held and not approved:
        return _resume(req, deps, mode, now, held, decide)  # a retry of this very request
    if req.approved and not approved:
        logger.error("approved request without its approval; not sent", extra=_ids(req))
        return None
    if approved and (reason := _contacted_meanwhile(req, deps, now)):
        return decide(reason)
    opens = deps.window.opens_at(now) if deps.window else now
    if opens > now:
        if opens - req.post_created_at > deps.max_post_age:
            return decide(Reason.STALE)  # it would be stale when the window opens
        wait_s = math.ceil((opens - now).total_seconds())
        raise MailDeferred(retry_in_s=wait_s, why="send_window")  # re-queued, at most 15 min
    review = deps.review if mode == "review" else None
    ttl = review.ttl if review else deps.cooldown  # a review hold lasts as long as its links
    hold = _Hold(deps.state, key, req.mention_id, approved, int(ttl.total_seconds()))
    if not hold.take():
        return decide(Reason.RECENTLY_CONTACTED)
    # The cap counts e-mails about to go out, so skipped requests never use it up.
    rate_key = f"rate#{now:%Y%m%d%H}"
    if deps.state.incr(rate_key, ttl_s=7200) > deps.max_per_hour:
        hold.give_back()
        raise MailDeferred(retry_in_s=max(1, 3600 - now.minute * 60 - now.second))
    try:
        email = build_email(req, deps, mode, review.make(req, now) if review else None)
        message_id = deps.mailer.send(email)
    except MailRejected as exc:
        # Permanent: a retry would fail the same way. Report it and keep the key, so this
        # address is not tried again within the cooldown.
        count("SendFailures", kind="rejected")
        logger.error(
            "send failed for good", extra={"mention_id": req.mention_id, "error": str(exc)}
        )
        return None
    except MailOutcomeUnknown as exc:
        deps.state.update(key, req.mention_id, state="unknown")  # keep the key: never twice
        _unknown(req, str(exc))
        return None
    except MailThrottled:
        hold.give_back()  # surely not sent
        deps.state.incr(rate_key, ttl_s=7200, by=-1)  # nor counted against the hour
        if req.throttled >= MAX_THROTTLED:
            raise  # 1.25-2.5 hours of waiting did not help: the queue's retries, the DLQ
        raise MailDeferred(throttle_delay_s(req.throttled), why="throttled") from None
    except Exception:  # the batch loop's error line; throttling: MailDeferred
        hold.give_back()  # surely not sent: let the retry try again
        deps.state.incr(rate_key, ttl_s=7200, by=-1)
        raise
    sent = REVIEW if review else "sent"  # a review hold waits for the agents' click
    deps.state.update(
        key, req.mention_id, state=sent, message_id=message_id, sent_at=now.isoformat()
    )
    _record(req, deps, mode, now, key)
    return decide(Reason.CONTACT)


@dataclass
class _Hold:
    """The per-person key a send goes out under: claimed now, or an agent's approval."""

    state: State
    key: str
    owner: str
    approved: bool
    ttl_s: int

    def take(self) -> bool:
        if self.approved:  # the cooldown starts now, with the e-mail to the customer
            return self.state.advance(
                self.key, self.owner, expect=APPROVED, ttl_s=self.ttl_s, state=SENDING
            )
        return self.state.claim(self.key, self.owner, self.ttl_s)

    def give_back(self) -> None:
        """Surely not sent: free for a retry (an approval stays an approval)."""
        if self.approved:
            self.state.advance(self.key, self.owner, expect=SENDING, state=APPROVED)
        else:
            self.state.release(self.key, self.owner)


def _contacted_meanwhile(req: OutreachRequest, deps: MailerDeps, now: datetime) -> Reason | None:
    """Agents approve hours after triage decided: did customer service get in touch since,
    or did we write to this person under another hash key (a rotation in between)?"""
    config = policy.PolicyConfig(deps.in_contact_hours, max(1, deps.cooldown.days))
    reason = policy.contacted(deps.crm, req.customer_ref, now, config)
    if reason is not None:
        return reason
    others = deps.hasher.candidates("person", req.customer_ref)
    if any(h != req.customer_hash and deps.state.holder(policy.person_key(h)) for h in others):
        return Reason.RECENTLY_CONTACTED
    return None


def _ids(req: OutreachRequest) -> dict[str, str]:
    return {"mention_id": req.mention_id, "customer_hash": req.customer_hash}


def _resume(
    req: OutreachRequest,
    deps: MailerDeps,
    mode: str,
    now: datetime,
    held: dict[str, str],
    decide: Callable[[Reason], Decision],
) -> Decision | None:
    """This request holds the person's key already: an earlier attempt got that far and
    stopped (crash, timeout). Finish what it left undone; never send a second time."""
    state = held.get("state", "claimed")
    key = policy.person_key(req.customer_hash)
    if req.approved and state == REVIEW:
        logger.error("approved request without its approval; not sent", extra=_ids(req))
        return None
    if state == "sent" and _recorded_since(req, deps, held.get("sent_at", "")):
        deps.state.update(key, req.mention_id, state="recorded")
    elif state == "sent":
        _record(req, deps, mode, now, key)
    # The review copy went out (and perhaps an agent approved it since): nothing more here.
    if state in ("sent", "recorded", REVIEW, APPROVED):
        return decide(Reason.CONTACT)
    # "claimed", "sending" or "unknown": SES may or may not have it; at most once wins.
    _unknown(req, f"an earlier attempt stopped in state {state!r}")
    return None


def _recorded_since(req: OutreachRequest, deps: MailerDeps, sent_at: str) -> bool:
    """Did the earlier attempt reach the CRM before it stopped? Then do not record twice."""
    try:
        since = datetime.fromisoformat(sent_at)
        found = deps.crm.interactions(req.customer_ref, since - timedelta(minutes=1))
    except (ValueError, CrmError):
        return False  # unknown: a duplicate note beats a missing one
    return any(item.kind == policy.OUR_KIND for item in found)


def _unknown(req: OutreachRequest, why: str) -> None:
    count("SendFailures", kind="unknown")
    logger.error(
        "send outcome unknown; not resent (check SES for this message)",
        extra={"mention_id": req.mention_id, "customer_hash": req.customer_hash, "error": why},
    )


def _record(req: OutreachRequest, deps: MailerDeps, mode: str, now: datetime, key: str) -> None:
    """Tell the CRM, so agents see it and the policy sees it next time. Never resends."""
    if mode != "live":
        return
    _measure_later(req, deps, now)
    try:
        deps.crm.record_interaction(
            req.customer_ref,
            {
                "channel": "email",
                "kind": policy.OUR_KIND,
                "at": now.isoformat(),
                "open": False,
                "platform": req.source,
                "post_url": req.post_url,
            },
        )
    except CrmError as exc:
        logger.warning(
            "could not record outreach in CRM",
            extra={"error": str(exc), "mention_id": req.mention_id},
        )
        return
    deps.state.update(key, req.mention_id, state="recorded")


def _measure_later(req: OutreachRequest, deps: MailerDeps, now: datetime) -> None:
    """An entry for OutreachOutcome (operations/outcome.py): the CRM id and the time only.
    A lost entry is one customer fewer in the measure, never a reason to fail a send."""
    if deps.outcome is None:
        return
    from socialcare.operations.outcome import OutcomeEntry

    entry = OutcomeEntry(mention_id=req.mention_id, customer_ref=req.customer_ref, sent_at=now)
    try:
        deps.outcome.send_all([entry])
    except Exception as exc:
        logger.warning("outcome entry not queued", extra={"error": type(exc).__name__})
