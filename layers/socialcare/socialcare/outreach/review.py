"""An agent's Approve or Reject of a review e-mail: the Review function's pages.

GET shows what a click would do and changes nothing (mail scanners and link previews
follow links); only the page's POST decides. Approve moves the customer's per-person key
from `review` to `approved`, held for the cooldown so a closed send window cannot lapse
it, and hands the request back to the mailer, which checks every rule again and sends
under that hold. Reject releases the key and audits `rejected_by_agent`. The key's state
is the record: a second click, or Approve after Reject or expiry, changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from socialcare.brand import Brand
from socialcare.errors import RetryableError
from socialcare.identity.policy import person_key
from socialcare.models import Decision, OutreachRequest, Reason
from socialcare.observability import count, logger
from socialcare.outreach.approval import (
    ACTIONS,
    APPROVED,
    REVIEW,
    SENDING,
    Held,
    LinkExpired,
    unseal,
)
from socialcare.outreach.optout import page
from socialcare.outreach.ports import Sealer
from socialcare.outreach.unsubscribe import TokenError
from socialcare.ports import Queue, State

# The token is in the URL: no Referer leaves with it, no cache keeps it, no other site
# frames the buttons (clickjacking), the form posts only back here.
HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}
APPROVED_STATES = frozenset({APPROVED, SENDING, "sent", "recorded"})


@dataclass
class ReviewDeps:
    state: State
    sealer: Sealer
    queue: Queue  # OutreachQueue: an approved request goes back to the mailer
    brand: Brand
    cooldown: timedelta


@dataclass(frozen=True)
class Answer:
    status: int
    html: str


# (title, text, button) per action; Danish first, as on the unsubscribe page.
QUESTIONS = {
    "approve": (
        "Godkend e-mail / Approve e-mail",
        "Send e-mailen til kunden? Afmelding, karantæne, pilot, sendevindue og timeloft "
        "tjekkes igen før afsendelse. / Send the e-mail to the customer? Opt-out, cooldown, "
        "pilot, send window and hourly cap are checked again before it goes out.",
        "Godkend og send / Approve and send",
    ),
    "reject": (
        "Afvis e-mail / Reject e-mail",
        "Kunden får ingen e-mail om dette opslag. / The customer gets no e-mail about this post.",
        "Afvis / Reject",
    ),
}
PAGES = {
    "approved": (
        200,
        "Godkendt / Approved",
        "E-mailen sendes til kunden, når reglerne er tjekket igen (inden for sendevinduet). "
        "/ The e-mail goes to the customer once the rules are checked again (within the "
        "send window).",
    ),
    "rejected": (
        200,
        "Afvist / Rejected",
        "Kunden får ingen e-mail. Beslutningen er logget. / The customer gets no e-mail. "
        "The decision is logged.",
    ),
    "was_approved": (
        200,
        "Allerede godkendt / Already approved",
        "Den er allerede godkendt; der sendes ikke mere. / It was approved already; "
        "nothing more is sent.",
    ),
    "was_approved_no_reject": (
        409,
        "Allerede godkendt / Already approved",
        "Den er allerede godkendt og kan ikke afvises nu. / It was approved already and "
        "cannot be rejected now.",
    ),
    "gone": (
        409,
        "Allerede afgjort / Already decided",
        "Den er allerede afvist eller udløbet; der sendes intet. / It was rejected already "
        "or has expired; nothing is sent.",
    ),
    "gone_reject": (
        200,
        "Allerede afgjort / Already decided",
        "Den er allerede afvist eller udløbet; kunden får ingen e-mail om dette opslag. / "
        "It was rejected already or has expired; the customer gets no e-mail about it.",
    ),
    "expired": (
        410,
        "Linket er udløbet / The link has expired",
        "Ingen godkendte inden for fristen, så kunden får ingen e-mail. / Nobody approved "
        "it in time, so the customer gets no e-mail.",
    ),
    "refused": (
        403,
        "Linket virker ikke / The link does not work",
        "Linket er ugyldigt. Brug linket fra e-mailen, som det er. / The link is invalid. "
        "Use the link from the e-mail as it is.",
    ),
    "unknown_action": (
        404,
        "Siden findes ikke / Page not found",
        "Brug Godkend- eller Afvis-linket fra e-mailen. / Use the Approve or Reject link "
        "from the e-mail.",
    ),
    "stuck": (
        409,
        "Kan ikke afgøres nu / Cannot be decided now",
        "En e-mail om dette opslag har ukendt status; herfra sendes intet (se Runbook). / "
        "An e-mail about this post has an unknown fate; nothing is sent from here (see "
        "the Runbook).",
    ),
    "busy": (
        503,
        "Prøv igen om lidt / Try again shortly",
        "Der skete ingenting; prøv linket igen om et øjeblik. / Nothing happened; try the "
        "link again in a moment.",
    ),
}


def confirm(deps: ReviewDeps, action: str, token: str, now: datetime | None = None) -> Answer:
    """GET: the question and a button that POSTs the token; reads only."""
    held = _open(deps, action, token, now)
    if isinstance(held, Answer):
        return held
    state = _state(deps, held.request)
    if state != REVIEW:
        return _already(deps, action, state)
    title, text, button = QUESTIONS[action]
    expires = held.expires.astimezone(ZoneInfo(deps.brand.time_zone))
    text += f" (Linket udløber / The link expires {expires:%Y-%m-%d %H:%M %Z}.)"
    return Answer(200, page(deps.brand, title, text, form_token=token, action=button))


def decide(deps: ReviewDeps, action: str, token: str, now: datetime | None = None) -> Answer:
    """POST: Approve or Reject, once; a repeated or late click changes nothing."""
    held = _open(deps, action, token, now)
    if isinstance(held, Answer):
        return held
    try:
        done = approve(deps, held.request) if action == "approve" else reject(deps, held.request)
    except RetryableError as exc:
        logger.warning("review not decided, try again", extra={"error": str(exc)})
        return _answer(deps, "busy")
    return _answer(deps, done) if done else _already(deps, action, _state(deps, held.request))


def approve(deps: ReviewDeps, req: OutreachRequest) -> str | None:
    key = person_key(req.customer_hash)
    ttl_s = int(deps.cooldown.total_seconds())
    moved = deps.state.advance(key, req.mention_id, expect=REVIEW, ttl_s=ttl_s, state=APPROVED)
    if not moved and _state(deps, req) != APPROVED:
        return None
    # Also when it was approved already: the first hand-over may have failed after the
    # key moved. The mailer takes an approval once, however often it is handed over.
    deps.queue.send_all([req.model_copy(update={"approved": True})])
    if not moved:
        return "was_approved"
    count("ReviewDecisions")  # which: the log line
    logger.info("review approved", extra=_ids(req))
    return "approved"


def reject(deps: ReviewDeps, req: OutreachRequest) -> str | None:
    if not deps.state.release(person_key(req.customer_hash), req.mention_id, expect=REVIEW):
        return None
    decision = Decision.of(
        Reason.REJECTED_BY_AGENT,
        mention_id=req.mention_id,
        fetch_id=req.fetch_id,
        source=req.source,
        stage="review",
        customer_hash=req.customer_hash,
        match=req.match,
        language=req.language,
        topics=req.topics,
    )
    logger.info("decision", extra=decision.model_dump(mode="json"))
    count("ReviewDecisions")
    return "rejected"


def _open(deps: ReviewDeps, action: str, token: str, now: datetime | None) -> Held | Answer:
    if action not in ACTIONS:
        return _answer(deps, "unknown_action")
    try:
        return unseal(deps.sealer, token, now or datetime.now(UTC))
    except LinkExpired:
        count("ReviewDecisions")
        logger.info("review link expired", extra={"action": action})
        return _answer(deps, "expired")
    except TokenError as error:  # forged, altered or malformed: 403 or 400
        logger.warning("review link refused", extra={"error": str(error), "action": action})
        return Answer(error.status, _answer(deps, "refused").html)
    except RetryableError as exc:
        logger.warning("review link not read, try again", extra={"error": str(exc)})
        return _answer(deps, "busy")


def _state(deps: ReviewDeps, req: OutreachRequest) -> str | None:
    """The hold's state while this request holds it; None once it is gone."""
    held = deps.state.holder(person_key(req.customer_hash))
    if not held or held.get("owner") != req.mention_id:
        return None
    return held.get("state", "claimed")


def _already(deps: ReviewDeps, action: str, state: str | None) -> Answer:
    if state in APPROVED_STATES:
        return _answer(deps, "was_approved" if action == "approve" else "was_approved_no_reject")
    if state is None:
        return _answer(deps, "gone" if action == "approve" else "gone_reject")
    return _answer(deps, "stuck")  # claimed or unknown: an e-mail of unknown fate


def _answer(deps: ReviewDeps, kind: str) -> Answer:
    status, title, text = PAGES[kind]
    return Answer(status, page(deps.brand, title, text))


def _ids(req: OutreachRequest) -> dict[str, str]:
    return {"mention_id": req.mention_id, "customer_hash": req.customer_hash}
