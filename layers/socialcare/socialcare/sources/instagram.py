"""Instagram (professional account, Instagram API with Facebook Login): webhooks for
`mentions` (captions and comments that @mention the account) and `comments` (on its own
media) are the main path — caption and comment @mentions are delivered by webhooks only,
Graph has no list of them. Polling is the backstop: `/{ig-user-id}/tags` (media the
account is tagged in) and the comments on its recent media.

Both paths name a post the same way: a media is its IG media id (the webhook's
`media_id`), a comment its IG comment id. Authors are usernames (the CRM links them as
`instagram:<username>`); Instagram gives no display name and no language.

Placement: the API shows an account nothing but what is directed at it (media it is
tagged in, captions and comments that @mention it, comments on its own media), so every
Instagram mention is `addressed`.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

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
    describe,
    entry_time,
    event_mentions,
    graph_error,
    graph_object,
    list_items,
    webhook_entries,
)

NAME = "instagram"
MEDIA_FIELDS = "id,caption,timestamp,permalink,username,media_type"
# mentioned_media is someone else's media: Graph offers fewer fields there (no permalink).
MENTIONED_MEDIA_FIELDS = "id,caption,timestamp,username,media_type"
COMMENT_FIELDS = "id,text,timestamp,username,from{id,username},parent_id"
MENTIONED_COMMENT_FIELDS = "id,text,timestamp,username"


def _link(value: Any) -> str | None:
    return value if isinstance(value, str) and value.startswith(("https://", "http://")) else None


def _own(own: Collection[str], author_id: str | None, username: str | None) -> bool:
    return bool(own) and (author_id in own or (username or "").lower() in own)


def parse_media(item: Any, own: Collection[str] = ()) -> Mention:
    if not isinstance(item, dict):
        raise TypeError("post item is not an object")
    media_id = str_or_none(item.get("id"))
    if not media_id:
        raise ValueError("media has no id")
    owner = dict_or_empty(item.get("owner"))
    author_id = str_or_none(owner.get("id"))
    username = str_or_none(item.get("username"))
    caption = item.get("caption")
    return Mention(
        source=NAME,
        post_id=media_id,
        url=_link(item.get("permalink")),
        author_id=author_id,
        handle=username,
        text=caption if isinstance(caption, str) else "",
        created_at=parse_time(item["timestamp"]),
        is_own_account=_own(own, author_id, username),
        addressed=True,
    )


def parse_comment(item: Any, own: Collection[str] = ()) -> Mention:
    if not isinstance(item, dict):
        raise TypeError("comment is not an object")
    comment_id = str_or_none(item.get("id"))
    if not comment_id:
        raise ValueError("comment has no id")
    author = dict_or_empty(item.get("from"))
    author_id = str_or_none(author.get("id"))
    username = str_or_none(item.get("username")) or str_or_none(author.get("username"))
    text = item.get("text")
    post = dict_or_empty(item.get("_post")) or dict_or_empty(item.get("media"))
    return Mention(
        source=NAME,
        post_id=comment_id,
        url=_link(post.get("permalink")),
        author_id=author_id,
        handle=username,
        text=text if isinstance(text, str) else "",
        created_at=parse_time(item["timestamp"]),
        is_reply=True,
        is_own_account=_own(own, author_id, username),
        addressed=True,
    )


def parse_item(item: Any, own: Collection[str] = ()) -> Mention:
    """A comment (it has `text`) or a media (a caption, a type, a permalink)."""
    if isinstance(item, dict) and "text" in item:
        return parse_comment(item, own)
    return parse_media(item, own)


# ------------------------------------------------------------------ webhooks
def _thin(
    post_id: str, created: datetime, value: dict[str, Any], own: Collection[str], comment: bool
) -> Mention:
    author = dict_or_empty(value.get("from"))
    author_id = str_or_none(author.get("id"))
    username = str_or_none(author.get("username"))
    text = value.get("text")
    return Mention(
        source=NAME,
        post_id=post_id,
        author_id=author_id,
        handle=username,
        text=text if isinstance(text, str) else "",
        created_at=created,
        is_reply=comment,
        is_own_account=_own(own, author_id, username),
        addressed=True,
    )


def fetch_mentioned(api: GraphApi, account: str, thin: Mention, own: Collection[str]) -> Mention:
    """A caption or comment @mention, read through the mentioned account (the only way:
    the media belongs to someone else)."""
    if thin.is_reply:
        fields = f"mentioned_comment.comment_id({thin.post_id}){{{MENTIONED_COMMENT_FIELDS}}}"
        key, parse = "mentioned_comment", parse_comment
    else:
        fields = f"mentioned_media.media_id({thin.post_id}){{{MENTIONED_MEDIA_FIELDS}}}"
        key, parse = "mentioned_media", parse_media
    body = api.get(account, {"fields": fields})
    found = body.get(key) if isinstance(body, dict) else None
    if not isinstance(found, dict):
        error = graph_error(body)
        raise SourcePayloadError(NAME, describe(error) if error else f"no {key} in the answer")
    item = {"id": thin.post_id, **found}
    item.setdefault("timestamp", thin.created_at.isoformat())
    return parse(item, own).model_copy(update={"post_id": thin.post_id})


def fetch_comment(api: GraphApi, thin: Mention, own: Collection[str]) -> Mention:
    """A comment on our own media, when the notification came without its text."""
    body = graph_object(NAME, api.get(thin.post_id, {"fields": COMMENT_FIELDS}))
    item = {"id": thin.post_id, **body}
    item.setdefault("timestamp", thin.created_at.isoformat())
    return parse_comment(item, own).model_copy(update={"post_id": thin.post_id})


def _event(
    field: str,
    value: dict[str, Any],
    at: datetime | None,
    account: str | None,
    own: Collection[str],
) -> WebhookEvent:
    def ignored(reason: str) -> WebhookEvent:
        return WebhookEvent(NAME, field, ignored=reason)

    if field == "mentions":
        comment_id = str_or_none(value.get("comment_id"))
        post_id = comment_id or str_or_none(value.get("media_id"))
        value = {}  # ids only: nothing about the author or the text
    elif field == "comments":
        comment_id = post_id = str_or_none(value.get("id"))
    else:
        return ignored("field")  # story_insights, messages, live_comments...
    if not post_id or at is None or (field == "mentions" and not account):
        return ignored("unreadable")
    try:
        thin = _thin(post_id, at, value, own, comment=comment_id is not None)
    except (ValidationError, TypeError, ValueError):
        return ignored("unreadable")
    if field == "mentions":
        assert account is not None
        return WebhookEvent(
            NAME,
            field,
            thin,
            fetch=lambda api: fetch_mentioned(api, account, thin, own),
        )
    if thin.text.strip():
        return WebhookEvent(NAME, field, thin)
    return WebhookEvent(NAME, field, thin, fetch=lambda api: fetch_comment(api, thin, own))


def webhook_events(body: Any, own: Collection[str] = ()) -> list[WebhookEvent]:
    """The changes of an Instagram notification (`{"object": "instagram", "entry": [...]}`);
    `entry[].id` is the account the change is about (ours)."""
    own = frozenset(own)
    out: list[WebhookEvent] = []
    for entry in webhook_entries(NAME, body):
        account = str_or_none(entry.get("id")) if isinstance(entry, dict) else None
        for field, value in changes(entry):
            out.append(_event(field, value, entry_time(entry), account, own))
    return out


# ------------------------------------------------------------------ parse
def parse_page(body: Any, own_accounts: Collection[str] = ()) -> tuple[list[Mention], int]:
    """The mentions in a Graph answer (a list of media or comments, a `mentioned_media` or
    `mentioned_comment`, one media or comment) or an Instagram webhook notification (as
    it says them: a `mentions` change is ids only until fetched)."""
    own = frozenset(own_accounts)
    body = graph_object(NAME, body)
    if "entry" in body or "object" in body:
        return event_mentions(webhook_events(body, own))
    if "data" in body:
        items: list[Any] = []
        for item in list_items(NAME, body):
            items.append(item)
            nested = dict_or_empty(item.get("comments")) if isinstance(item, dict) else {}
            if isinstance(nested.get("data"), list):  # /media with comments expanded
                link = {"permalink": item.get("permalink")}
                items += [
                    {**c, "_post": link} if isinstance(c, dict) else c for c in nested["data"]
                ]
        return parse_items(NAME, items, lambda item: parse_item(item, own))
    for key, parse in (("mentioned_media", parse_media), ("mentioned_comment", parse_comment)):
        if isinstance(body.get(key), dict):
            return parse_items(NAME, [body[key]], lambda item, p=parse: p(item, own))  # type: ignore[misc]
    if "id" in body and ("text" in body or "caption" in body or "media_type" in body):
        return parse_items(NAME, [body], lambda item: parse_item(item, own))
    raise SourcePayloadError(NAME, "not a list of media or comments, a media or a notification")


# ------------------------------------------------------------------ polling
def build(ctx: SourceContext) -> Rotation:
    account = ctx.settings.instagram_user_id.strip()
    api = connect(ctx, NAME, account, "INSTAGRAM_USER_ID")
    own = ctx.own_accounts(NAME) | {account}
    common: dict[str, Any] = {"lookback": ctx.lookback, "clock": ctx.clock}
    return Rotation(
        NAME,
        [
            (
                "tags",
                EdgeSweep(
                    NAME,
                    api,
                    f"{account}/tags",
                    MEDIA_FIELDS,
                    lambda item: parse_media(item, own),
                    order=("timestamp",),
                    time_paged=False,  # cursor-paged
                    **common,
                ),
            ),
            (
                "comments",
                CommentsEdge(
                    NAME,
                    api,
                    f"{account}/media",
                    post_fields="timestamp,permalink",
                    comment_time="timestamp",
                    comment_fields=COMMENT_FIELDS,
                    parse=lambda item: parse_comment(item, own),
                    **common,
                ),
            ),
        ],
    )
