"""Contract tests over the real Meta recordings in ../shared/fixtures/platforms/facebook
and instagram: Graph answers recorded by python-facebook, Meta's app-dashboard webhook
test payloads and docs examples, through the same parsing the fetch function and the
webhook use. Skipped, with the reason, where the shared fixtures are not checked out.

The dashboard and docs samples are wrapped with their origin (`_origin` and `payload`,
`change` or `body`); the tests unwrap them. Signed as Meta signs, the dashboard samples
also go through the webhook receiver onto a queue.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from socialcare.adapters.memory import MemoryQueue
from socialcare.errors import SourceAuthError, SourcePayloadError, SourceRateLimited
from socialcare.sources import facebook, instagram, parse_page
from socialcare.sources.graph import USAGE_LIMIT, check_graph, usage
from socialcare.sources.webhooks import WebhookDeps, receive
from socialcare_cli.fake_graph import sign
from tests.conftest import SHARED

ROOT = SHARED / "fixtures" / "platforms"
pytestmark = pytest.mark.skipif(
    not (ROOT / "facebook").is_dir(),
    reason=f"shared Meta recordings not found at {ROOT} (shared folder absent)",
)

# Recorded Graph answers that are posts or comments: (mentions, unreadable items).
PAGES: dict[str, dict[str, tuple[int, int]]] = {
    "facebook": {
        "facebook__apidata__comments__comment_info.json": (1, 0),
        "facebook__apidata__comments__comments_p1.json": (10, 0),  # ids from permalinks
        "facebook__apidata__comments__comments_p2.json": (5, 0),
        "facebook__apidata__posts__feed_fields_p1.json": (5, 0),
        "facebook__apidata__posts__feed_fields_p2.json": (5, 0),
        "facebook__apidata__posts__feeds_default_fields_p1.json": (5, 0),
        "facebook__apidata__posts__single_post_data_fields.json": (1, 0),
    },
    "instagram": {
        "instagram__apidata__comments__comment_fields.json": (1, 0),
        "instagram__apidata__medias__comments_p1.json": (2, 0),
        "instagram__apidata__users__mentioned_comment.json": (1, 0),
        "instagram__apidata__users__mentioned_media.json": (1, 0),
        "instagram__apidata__users__tagged_medias.json": (5, 0),
        # media and hashtags without a timestamp: counted, never guessed
        "instagram__apidata__hashtags__hashtag_recent_medias_p1.json": (0, 5),
        "instagram__apidata__users__hashtag_search.json": (0, 1),
    },
}
NOT_PAGES = {
    "facebook": ["base__error_data.json", "error.json"],  # (#100) permission errors
    "instagram": ["error.json", "instagram__apidata__users__user_fields.json"],  # a user
}


def recorded(source: str, name: str) -> Any:
    return json.loads((ROOT / source / "python-facebook_testdata" / name).read_text())


def sample(source: str, name: str) -> Any:
    """A webhook sample without its origin wrapper."""
    data = json.loads((ROOT / source / "webhook_samples" / name).read_text())
    for key in ("payload", "change", "body", "headers"):
        if key in data:
            return data[key]
    return data


def listed(source: str) -> list[str]:
    folder = ROOT / source / "python-facebook_testdata"
    return sorted(p.name for p in folder.glob("*.json")) if folder.is_dir() else []


@pytest.mark.parametrize("source", ["facebook", "instagram"])
def test_every_recorded_graph_answer_is_listed(source: str) -> None:
    assert set(listed(source)) == set(PAGES[source]) | set(NOT_PAGES[source])


@pytest.mark.parametrize(
    ("source", "name"), [(s, n) for s in PAGES for n in PAGES[s]] or [("facebook", "absent")]
)
def test_recorded_pages_parse(source: str, name: str) -> None:
    mentions, invalid = parse_page(source, recorded(source, name))
    assert (len(mentions), invalid) == PAGES[source][name]
    for mention in mentions:
        assert mention.source == source and mention.post_id
        assert mention.created_at.tzinfo is not None
        assert mention.url is None or mention.url.startswith("https://")


@pytest.mark.parametrize(
    ("source", "name"), [(s, n) for s in NOT_PAGES for n in NOT_PAGES[s]] or [("x", "absent")]
)
def test_recorded_errors_and_users_are_typed_errors(source: str, name: str) -> None:
    with pytest.raises(SourcePayloadError, match=f"^{source}: "):
        parse_page(source, recorded(source, name))


def test_a_comment_id_rebuilt_from_its_permalink_matches_the_recorded_id() -> None:
    comment = recorded("facebook", "facebook__apidata__comments__comment_info.json")
    assert facebook.comment_id_from_permalink(comment["permalink_url"]) == comment["id"]


def test_dashboard_feed_and_mention_samples_name_the_same_post() -> None:
    (status,) = facebook.webhook_events(
        {"entry": [{"changes": [sample("facebook", "meta_dashboard_test_page_feed_status.json")]}]}
    )
    (mention,) = facebook.webhook_events(
        sample("facebook", "meta_dashboard_test_page_mention.json")
    )
    assert status.mention and mention.mention
    assert status.mention.post_id == mention.mention.post_id == "44444444_444444444"
    assert status.fetch is None and status.mention.text == "Example post content."
    assert mention.fetch is not None and mention.mention.author_id == "44444444"


def test_docs_instagram_mention_examples_ask_graph_for_the_text() -> None:
    data = json.loads(
        (ROOT / "instagram/webhook_samples/ig_mentions_fb_login_examples.json").read_text()
    )
    for key, post_id in (
        ("caption_mention", "17918195224117851"),
        ("comment_mention", "17894227972186120"),
    ):
        (event,) = instagram.webhook_events(data[key][0])
        assert event.mention and event.mention.post_id == post_id and event.fetch


def test_other_notification_objects_are_not_mentions() -> None:
    body = sample("facebook", "meta_docs_sample_notification_user_photos.json")
    assert parse_page("facebook", body) == ([], 0)  # `photos` of a user: ignored


def response(status: int, body: Any, headers: dict[str, str] | None = None) -> requests.Response:
    out = requests.Response()
    out.status_code = status
    out._content = json.dumps(body).encode()
    out.headers.update(headers or {})
    return out


def test_documented_error_bodies_map_to_typed_errors() -> None:
    with pytest.raises(SourceRateLimited):
        check_graph(
            "facebook",
            response(400, sample("facebook", "meta_docs_buc_rate_limit_error_80001.json")),
        )
    with pytest.raises(SourceAuthError):
        check_graph("facebook", response(400, sample("facebook", "meta_docs_error_envelope.json")))


def test_recorded_usage_headers_are_read() -> None:
    headers = sample("facebook", "python_facebook_ratelimit_headers_examples.json")
    peak, regain = usage(headers)
    assert peak == 91.0 and peak < USAGE_LIMIT and regain is None


def test_signed_dashboard_samples_pass_the_receiver_onto_the_queue() -> None:
    queue = MemoryQueue()
    deps = WebhookDeps(
        queue=queue,
        secret=lambda: {"app_secret": "dashboard-app-secret"},
        graph=lambda source: pytest.fail("the feed sample carries its text"),
        sources=frozenset({"facebook"}),
    )
    change = sample("facebook", "meta_dashboard_test_page_feed_status.json")
    raw = json.dumps({"object": "page", "entry": [{"id": "0", "time": 1, "changes": [change]}]})
    data = raw.encode()
    reply = receive(data, {"X-Hub-Signature-256": sign("dashboard-app-secret", data)}, deps)
    assert reply.status == 200 and len(queue.messages) == 1
    forged = receive(data, {"X-Hub-Signature-256": sign("other", data)}, deps)
    assert forged.status == 401 and len(queue.messages) == 1
