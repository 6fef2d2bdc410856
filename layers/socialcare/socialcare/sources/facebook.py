"""Facebook Pages: Page webhooks (the main path, socialcare.sources.webhooks) and Graph polling
(the backstop) of the posts that tag the Page, its visitor posts and the comments on
its recent posts.

Both paths name a post the same way, so triage decides a post seen twice `duplicate`:
a post is its Graph id (`{poster-id}_{post-id}`, the webhook's `post_id`), a comment its
Graph id (`{post-id}_{comment-id}`, the webhook's `comment_id`).

Authors: Facebook has no public handles. A person is the page-scoped id in `from.id`
(the CRM links it as `facebook:<id>`, docs/crm-api.yaml), which Graph withholds for many
tagged posts — the webhook's `from`/`sender_id` is often the only place it appears.
Facebook gives no language for posts.

Placement: everything the source reads is directed at the Page, so every mention is
`addressed`: posts that tag it (`/tagged`), posts on it (`/visitor_posts`), comments on its
posts, and the Page's webhook changes (its feed, and `mention`: a tag or @-mention of it).
A lone Graph body (`socialcare parse`) says so by its ids: a post whose id starts with our
Page id, a comment under such a post or linking to one, or a post with `tagged_time`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

from pydantic import ValidationError

from socialcare.errors import SourcePayloadError
from socialcare.models import Mention
from socialcare.sources.base import dict_or_empty, parse_items, parse_time, str_or_none
from socialcare.sources.context import SourceContext
from socialcare.sources.graph import (
    CommentsEdge,
    EdgeSweep,
    GraphApi,
    Rotation,
    WebhookEvent,
    changes,
    connect,
    entry_time,
    event_mentions,
    graph_object,
    list_items,
    webhook_entries,
)

NAME = "facebook"
POST_FIELDS = "id,message,created_time,permalink_url,from{id,name}"
TAGGED_FIELDS = f"{POST_FIELDS},tagged_time"
COMMENT_FIELDS = "id,message,created_time,permalink_url,from{id,name},parent{id}"
# `feed` changes worth reading: new or edited posts and comments (an edit of a post seen
# before is decided `duplicate`; one whose first version was missed is read now).
POST_ITEMS = frozenset({"status", "post", "photo", "video", "share", "link", "note"})
READ_VERBS = frozenset({"add", "edited", "edit", "update"})


def comment_id_from_permalink(url: Any) -> str | None:
    """A comment's Graph id from its permalink (`.../posts/<post>/?comment_id=<c>`): some
    recorded comment lists carry the permalink without the `id` field."""
    if not isinstance(url, str):
        return None
    parsed = urlparse(url)
    query = parse_qs(parsed.query)
    comment = (query.get("reply_comment_id") or query.get("comment_id") or [""])[0]
    post = re.search(r"/(?:posts|videos|photos)/(?:[^/]+/)?(\d+)", parsed.path)
    post_id = post.group(1) if post else (query.get("story_fbid") or [""])[0]
    return f"{post_id}_{comment}" if comment and post_id else None


def is_comment(item: dict[str, Any]) -> bool:
    permalink = str(item.get("permalink_url") or "")
    return "parent" in item or "comment_count" in item or "comment_id=" in permalink


def _link(value: Any) -> str | None:
    return value if isinstance(value, str) and value.startswith(("https://", "http://")) else None


def _page_of(post_id: Any) -> str | None:
    """The owner in a post id (`{page-or-person-id}_{post-id}`)."""
    owner, sep, _ = (str_or_none(post_id) or "").partition("_")
    return owner if sep and owner else None


def on_our_page(item: dict[str, Any], own: Collection[str]) -> bool:
    """Whether a Graph post or comment sits with our Page, by what the item itself says:
    `tagged_time` (only `/tagged` gives it), a post id or the parent post's id (`_post`,
    added where comments are read nested) starting with our Page id, or a permalink
    under our Page (`facebook.com/<page-id>/posts/...`, or `permalink.php?...&id=<page-id>`)."""
    if item.get("tagged_time"):
        return True
    parent = dict_or_empty(item.get("_post")).get("id")
    if own and ({_page_of(item.get("id")), _page_of(parent)} & set(own)):
        return True
    link = _link(item.get("permalink_url"))
    if not link:
        return False
    parsed = urlparse(link)
    owner = (parse_qs(parsed.query).get("id") or [parsed.path.strip("/").split("/")[0]])[0]
    return owner in own


def comment_url(comment_id: str, post_link: str | None = None) -> str:
    """A comment as Facebook links it: its post's permalink with `?comment_id=` (a comment
    id is `<post>_<comment>`); without the permalink, the post by its own id."""
    post, _, comment = comment_id.rpartition("_")
    if post_link and "?" in post_link:  # permalink.php?story_fbid=...&id=...
        return f"{post_link}&comment_id={comment}"
    base = (post_link or f"https://www.facebook.com/{post or comment}").rstrip("/")
    return f"{base}/?comment_id={comment}"


def _url(item: dict[str, Any], post_id: str, comment: bool) -> str:
    if permalink := _link(item.get("permalink_url")):
        return permalink
    return comment_url(post_id) if comment else f"https://www.facebook.com/{post_id}"


def _mention(item: Any, own: Collection[str], *, comment: bool, addressed: bool = False) -> Mention:
    if not isinstance(item, dict):
        raise TypeError("post item is not an object")
    post_id = str_or_none(item.get("id"))
    if comment and not post_id:
        post_id = comment_id_from_permalink(item.get("permalink_url"))
    if not post_id:
        raise ValueError("post item has no id")
    author = dict_or_empty(item.get("from"))
    author_id = str_or_none(author.get("id"))
    message = item.get("message")
    return Mention(
        source=NAME,
        post_id=post_id,
        url=_url(item, post_id, comment),
        author_id=author_id,
        handle=author_id,  # the page-scoped id: how the CRM links a Facebook profile
        display_name=str_or_none(author.get("name")),
        text=message if isinstance(message, str) else "",
        created_at=parse_time(item["created_time"]),
        is_reply=comment,
        is_own_account=bool(own) and author_id in own,
        addressed=addressed or on_our_page(item, own),
    )


def parse_post(item: Any, own: Collection[str] = (), *, addressed: bool = False) -> Mention:
    """A post; `addressed` when the caller knows where it was read (an edge of our Page)."""
    return _mention(item, own, comment=False, addressed=addressed)


def parse_comment(item: Any, own: Collection[str] = (), *, addressed: bool = False) -> Mention:
    return _mention(item, own, comment=True, addressed=addressed)


def parse_item(item: Any, own: Collection[str] = ()) -> Mention:
    """A post or a comment, told apart by the fields only comments have."""
    return _mention(item, own, comment=isinstance(item, dict) and is_comment(item))


# ------------------------------------------------------------------ webhooks
def _thin(
    post_id: str,
    url: str,
    created: datetime,
    author: dict[str, Any],
    message: Any,
    own: Collection[str],
    comment: bool,
) -> Mention:
    author_id = str_or_none(author.get("id"))
    return Mention(
        source=NAME,
        post_id=post_id,
        url=url,
        author_id=author_id,
        handle=author_id,
        display_name=str_or_none(author.get("name")),
        text=message if isinstance(message, str) else "",
        created_at=created,
        is_reply=comment,
        is_own_account=bool(own) and author_id in own,
        addressed=True,  # our Page's feed, or a tag or mention of our Page
    )


def fetch_object(api: GraphApi, thin: Mention, own: Collection[str]) -> Mention:
    """Complete a notification from the Graph API: the text, and the author where Graph
    shows it (else the one the notification named)."""
    fields = COMMENT_FIELDS if thin.is_reply else POST_FIELDS
    body = graph_object(NAME, api.get(thin.post_id, {"fields": fields}))
    item = dict(body)
    item.setdefault("id", thin.post_id)
    item.setdefault("created_time", thin.created_at.isoformat())
    if not dict_or_empty(item.get("from")).get("id") and thin.author_id:
        item["from"] = {"id": thin.author_id, "name": thin.display_name}
    mention = _mention(item, own, comment=thin.is_reply, addressed=thin.addressed)
    # The id the notification used: polling reads the same post under it.
    return mention.model_copy(update={"post_id": thin.post_id})


def _event(
    field: str, value: dict[str, Any], at: datetime | None, own: Collection[str]
) -> WebhookEvent:
    def ignored(reason: str) -> WebhookEvent:
        return WebhookEvent(NAME, field, ignored=reason)

    if field not in ("feed", "mention"):
        return ignored("field")
    item, verb = str(value.get("item") or ""), str(value.get("verb") or "")
    if verb not in READ_VERBS:
        return ignored("verb")
    if item == "comment":
        post_id = str_or_none(value.get("comment_id"))
        post_link = _link(dict_or_empty(value.get("post")).get("permalink_url"))
        parent = str_or_none(value.get("post_id"))
        if not post_link and parent:
            post_link = f"https://www.facebook.com/{parent}"
        url = comment_url(post_id, post_link) if post_id else ""
    elif item in POST_ITEMS:
        post_id = str_or_none(value.get("post_id"))
        url = f"https://www.facebook.com/{post_id}"
    else:
        return ignored("item")  # reactions, likes, events, page changes...
    if value.get("published") == 0:
        return ignored("unpublished")
    if field == "feed":
        author, message = dict_or_empty(value.get("from")), value.get("message")
    else:  # `mention` carries the sender and ids only
        author = {"id": value.get("sender_id"), "name": value.get("sender_name")}
        message = None
    try:
        created = parse_time(value["created_time"]) if value.get("created_time") else at
        if not post_id or created is None:
            return ignored("unreadable")
        thin = _thin(post_id, url, created, author, message, own, item == "comment")
    except (ValidationError, TypeError, ValueError):
        return ignored("unreadable")
    if isinstance(message, str) and message.strip():
        return WebhookEvent(NAME, field, thin)
    return WebhookEvent(NAME, field, thin, fetch=lambda api: fetch_object(api, thin, own))


def webhook_events(body: Any, own: Collection[str] = ()) -> list[WebhookEvent]:
    """The changes of a Page notification (`{"object": "page", "entry": [...]}`)."""
    own = frozenset(own)
    return [
        _event(field, value, entry_time(entry), own)
        for entry in webhook_entries(NAME, body)
        for field, value in changes(entry)
    ]


# ------------------------------------------------------------------ parse
def parse_page(body: Any, own_accounts: Collection[str] = ()) -> tuple[list[Mention], int]:
    """The mentions in a Graph answer (a list of posts or comments, with comments nested
    or not, or one post or comment) or in a Page webhook notification (as it says them:
    a `mention` change has no text until fetched)."""
    own = frozenset(own_accounts)
    body = graph_object(NAME, body)
    if "entry" in body or "object" in body:
        return event_mentions(webhook_events(body, own))
    if "field" in body and "value" in body:  # one change, as the app dashboard shows it
        return event_mentions(webhook_events({"entry": [{"changes": [body]}]}, own))
    if "data" in body:
        items: list[tuple[Any, bool]] = []
        for item in list_items(NAME, body):
            items.append((item, isinstance(item, dict) and is_comment(item)))
            nested = dict_or_empty(item.get("comments")) if isinstance(item, dict) else {}
            if isinstance(nested.get("data"), list):  # the post's id says whose post it is
                post = {"id": item.get("id")}
                items += [
                    ({**c, "_post": post} if isinstance(c, dict) else c, True)
                    for c in nested["data"]
                ]
        return parse_items(NAME, items, lambda pair: _mention(pair[0], own, comment=pair[1]))
    if "id" in body and ("created_time" in body or "message" in body):
        return parse_items(NAME, [body], lambda item: parse_item(item, own))
    raise SourcePayloadError(NAME, "not a list of posts, a post, a comment or a notification")


# ------------------------------------------------------------------ polling
def build(ctx: SourceContext) -> Rotation:
    page_id = ctx.settings.facebook_page_id.strip()
    api = connect(ctx, NAME, page_id, "FACEBOOK_PAGE_ID")
    own = ctx.own_accounts(NAME) | {page_id}
    # Each edge is a place at our Page: a tag of it, a post on it, a comment on its post.
    post: Callable[[Any], Mention] = lambda item: parse_post(item, own, addressed=True)  # noqa: E731
    common: dict[str, Any] = {"lookback": ctx.lookback, "clock": ctx.clock}
    return Rotation(
        NAME,
        [
            (
                "tagged",
                EdgeSweep(
                    NAME,
                    api,
                    f"{page_id}/tagged",
                    TAGGED_FIELDS,
                    post,
                    order=("tagged_time", "created_time"),
                    time_paged=True,
                    **common,
                ),
            ),
            (
                "visitor_posts",
                EdgeSweep(
                    NAME,
                    api,
                    f"{page_id}/visitor_posts",
                    POST_FIELDS,
                    post,
                    order=("created_time",),
                    time_paged=True,
                    **common,
                ),
            ),
            (
                "comments",
                CommentsEdge(
                    NAME,
                    api,
                    f"{page_id}/feed",
                    post_fields="created_time",
                    comment_time="created_time",
                    comment_fields=COMMENT_FIELDS,
                    parse=lambda item: parse_comment(item, own, addressed=True),
                    nested="filter(stream).order(reverse_chronological).limit(50)",
                    follow={"filter": "stream", "order": "reverse_chronological"},
                    **common,
                ),
            ),
        ],
    )
