"""Placement: every source says whether a post is `addressed` to us (where it sits) and
carries a review's `stars`; posts that only name us, or sit elsewhere, are not addressed."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from socialcare.brand import load_brand
from socialcare.models import Mention
from socialcare.sources import parse_page
from socialcare.sources.placement import any_own, mentions_handle, star_rating
from tests.conftest import TESTS

DATA = TESTS / "data" / "platforms"
OWN = {
    source: frozenset(a.lower().lstrip("@") for a in accounts)
    for source, accounts in load_brand().own_accounts.items()
}


def page(path: str) -> Any:
    return json.loads((DATA / path).read_text())


def parsed(source: str, body: Any) -> list[Mention]:
    mentions, invalid = parse_page(source, body, OWN[source])
    assert invalid == 0
    return mentions


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("@lynetbredbaand nettet er nede", True),
        ("Hej @LynetBredbaand, hvad sker der?", True),  # handles are case-insensitive
        ("nede igen (@lynet_hjaelp)", True),
        ("@lynet.bsky.social virker jeres app ikke?", True),
        ("@lynet.bsky.social.", True),  # a full stop ends the sentence, not the handle
        ("Lynet Bredbånd er nede igen", False),  # names us, does not @-mention us
        ("@lynetbredbaandfan er sjov", False),  # someone else's handle
        ("skriv til support@lynetbredbaand.dk", False),  # an e-mail address
        ("@lynet.bsky.socialclub", False),
        ("@101234567890123", False),  # a numeric id is not a handle
    ],
)
def test_an_at_mention_must_be_a_whole_handle_of_ours(text: str, found: bool) -> None:
    own = OWN["x"] | OWN["bluesky"] | OWN["facebook"]
    assert mentions_handle(text, own) is found


def test_own_ids_and_names_and_star_ratings() -> None:
    assert any_own([None, 7, "@LynetBredbaand"], OWN["x"])
    assert not any_own([None, "", "someone"], OWN["x"])
    assert [star_rating(v) for v in (1, 5, 0, 6, 4.5, "5", True, None)] == [1, 5] + [None] * 6


# ------------------------------------------------------------------ reviews
def test_every_trustpilot_review_is_addressed_with_its_stars() -> None:
    body = page("trustpilot/private-reviews-page1-documented.json")
    mentions = parsed("trustpilot", body)
    assert len(mentions) == len(body["reviews"]) > 1
    assert all(m.addressed for m in mentions)
    assert [m.stars for m in mentions] == [r["stars"] for r in body["reviews"]]


def test_an_odd_rating_costs_the_review_its_stars_not_the_review() -> None:
    body = page("trustpilot/private-reviews-page1-documented.json")
    body["reviews"][0]["stars"] = 9
    del body["reviews"][1]["stars"]
    first, second = parsed("trustpilot", body)
    assert (first.stars, second.stars) == (None, None)
    assert first.addressed and second.addressed


# ------------------------------------------------------------------ Meta
def test_facebook_comments_on_our_pages_posts_are_addressed() -> None:
    comments = [m for m in parsed("facebook", page("facebook/feed-comments.json")) if m.is_reply]
    assert comments and all(m.addressed for m in comments)


def test_a_facebook_comment_links_to_our_page_even_without_its_post() -> None:
    body = page("facebook/feed-comments.json")
    comment = dict(body["data"][0]["comments"]["data"][1])  # a customer's, not ours
    (mention,) = parsed("facebook", {"data": [comment]})
    assert mention.is_reply and mention.addressed
    comment["permalink_url"] = comment["permalink_url"].replace("101234567890123", "100099")
    (elsewhere,) = parsed("facebook", {"data": [comment]})
    assert not elsewhere.addressed  # a comment under someone else's post


def test_facebook_visitor_posts_and_tags_are_addressed_a_lone_post_elsewhere_is_not() -> None:
    assert all(m.addressed for m in parsed("facebook", page("facebook/visitor-posts.json")))
    assert all(
        m.addressed for m in parsed("facebook", page("facebook/tagged-page1-documented.json"))
    )
    # A post on the author's own timeline, read by id: the body does not say it tags us.
    (lone,) = parsed("facebook", page("facebook/post-mentioned.json"))
    assert not lone.addressed


@pytest.mark.parametrize(
    "path",
    [
        "facebook/webhook-feed-status.json",  # a post on our Page
        "facebook/webhook-feed-comment-documented.json",  # a comment on our Page's post
        "facebook/webhook-mention-post.json",  # a tag of our Page
    ],
)
def test_facebook_page_notifications_are_addressed(path: str) -> None:
    mentions = parsed("facebook", page(path))
    assert mentions and all(m.addressed for m in mentions)


@pytest.mark.parametrize(
    "path",
    [
        "instagram/tags-page1.json",
        "instagram/media-comments-documented.json",
        "instagram/mentioned-media.json",
        "instagram/mentioned-comment.json",
        "instagram/webhook-comments-documented.json",
        "instagram/webhook-mentions-caption.json",
    ],
)
def test_everything_instagram_shows_us_is_addressed(path: str) -> None:
    mentions = parsed("instagram", page(path))
    assert mentions and all(m.addressed for m in mentions)


# ------------------------------------------------------------------ search platforms
def test_x_at_mentions_and_replies_to_us_are_addressed() -> None:
    body = page("x/search-recent-page1.json")
    mentions = parsed("x", body)
    assert [m.addressed for m in mentions] == [
        "@lynetbredbaand" in t["text"].lower() for t in body["data"]
    ]
    assert any(m.addressed for m in mentions) and not all(m.addressed for m in mentions)

    reply = copy.deepcopy(body)
    tweet = reply["data"][1]  # names the brand, @-mentions nobody
    tweet["in_reply_to_user_id"] = "1700000000000000009"
    reply["includes"]["users"].append({"id": "1700000000000000009", "username": "Lynet_Hjaelp"})
    assert parsed("x", reply)[1].addressed  # a reply to our support account
    tweet["in_reply_to_user_id"] = "1700000000000000005"  # to another customer
    assert not parsed("x", reply)[1].addressed
    tweet["entities"] = {"mentions": [{"start": 0, "end": 15, "username": "lynetbredbaand"}]}
    assert parsed("x", reply)[1].addressed


def test_bluesky_replies_in_our_threads_and_mentions_of_our_did_are_addressed() -> None:
    body = page("bluesky/searchPosts-page1-documented.json")
    post = body["posts"][0]  # names the brand only
    assert not parsed("bluesky", body)[0].addressed
    own = OWN["bluesky"] | {"did:plc:lynetxyz"}  # the DID beside the handle in brand.toml
    ours = "at://did:plc:lynetxyz/app.bsky.feed.post/3ljzzz"
    post["record"]["reply"] = {"root": {"uri": ours}, "parent": {"uri": ours + "x"}}
    assert parse_page("bluesky", body, own)[0][0].addressed
    post["record"]["reply"] = {}
    post["record"]["facets"] = [
        {"features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:lynetxyz"}]}
    ]
    assert parse_page("bluesky", body, own)[0][0].addressed
    post["record"]["facets"][0]["features"][0]["did"] = "did:plc:someoneelse"
    assert not parse_page("bluesky", body, own)[0][0].addressed
    # the text's @handle counts without the DID
    assert parsed("bluesky", page("bluesky/searchPosts-page2-documented.json"))[0].addressed


def test_mastodon_statuses_mentioning_our_account_are_addressed() -> None:
    statuses = page("mastodon/timeline-tag-lynet.json")
    assert not any(m.addressed for m in parsed("mastodon", statuses))  # hashtags only
    status = copy.deepcopy(statuses[1])
    status["mentions"] = [{"id": "1", "username": "lynet", "acct": "lynet", "url": "x"}]
    status["mentions"][0]["url"] = "https://mastodon.social/@lynet"  # local to its instance
    assert parsed("mastodon", [status])[0].addressed
    status["mentions"][0]["acct"] = "lynet@example.social"  # another server's "lynet"
    assert not parsed("mastodon", [status])[0].addressed


def test_reddit_comments_in_our_threads_and_u_mentions_are_addressed() -> None:
    listing = page("reddit/search-page1.json")
    assert not any(m.addressed for m in parsed("reddit", listing))
    post = listing["data"]["children"][1]["data"]
    post["selftext"] += " Hvad siger u/Lynet_Official?"
    assert parsed("reddit", listing)[1].addressed
    comment = {
        "kind": "t1",
        "data": {
            "name": "t1_k3yrfii",
            "body": "Samme her, nede siden i går",
            "author": "fiberfan",
            "link_author": "lynet_official",  # the thread our account started
            "created_utc": 1795775400,
            "permalink": "/r/Denmark/comments/1h3k9zq/x/k3yrfii/",
        },
    }
    listing["data"]["children"] = [comment]
    assert parsed("reddit", listing)[0].addressed
    comment["data"]["link_author"] = "fiberfan"
    assert not parsed("reddit", listing)[0].addressed


# ------------------------------------------------------------------ the message
def test_messages_without_placement_read_as_unaddressed_without_stars() -> None:
    old = {"source": "x", "post_id": "1", "created_at": "2026-11-28T10:00:00Z", "text": "hi"}
    mention = Mention.model_validate_json(json.dumps(old))
    assert (mention.addressed, mention.stars) == (False, None)
    new = Mention.model_validate_json(mention.model_dump_json())
    assert (new.addressed, new.stars) == (False, None)


@pytest.mark.parametrize(
    "fields",
    [
        *({"stars": v} for v in (0, 6, 4.5, "5", True)),
        *({"addressed": v} for v in ("yes", 1, None)),
    ],
)
def test_placement_is_strict(fields: dict[str, Any]) -> None:
    base = {"source": "x", "post_id": "1", "created_at": "2026-11-28T10:00:00Z"}
    with pytest.raises(ValueError, match=r"addressed|stars"):
        Mention.model_validate({**base, **fields})
