"""Facebook and Instagram logic without I/O: webhook signatures, notification parsing,
Graph errors and usage headers, paging, and the cursors of the polling edges."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from socialcare.errors import (
    SourceAuthError,
    SourcePayloadError,
    SourceRateLimited,
    SourceUnavailable,
)
from socialcare.sources import facebook, instagram, parse_page
from socialcare.sources.graph import (
    CommentsEdge,
    GraphBudget,
    Rotation,
    check_graph,
    next_page,
    usage,
)
from socialcare.sources.webhooks import raw_body, signature_ok
from socialcare_cli.fake_graph import sign
from tests.conftest import TESTS

DATA = TESTS / "data" / "platforms"
SECRET = "app-secret"
BODY = b'{"object":"page","entry":[{"id":"1","time":1,"changes":[]}]}'


def load(path: str) -> Any:
    return json.loads((DATA / path).read_text())


# ------------------------------------------------------------------ signatures
def test_a_signature_over_the_raw_bytes_is_accepted() -> None:
    assert signature_ok(SECRET, BODY, sign(SECRET, BODY))
    assert signature_ok(SECRET, BODY, sign(SECRET, BODY).upper().replace("SHA256=", "sha256="))


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        sign("another-apps-secret", BODY),  # forged
        sign(SECRET, BODY + b" "),  # the body was altered after signing
        sign(SECRET, BODY).replace("sha256=", "sha1="),
        sign(SECRET, BODY)[7:],  # no scheme
        "sha256=æøå",  # not even hex: refused, not a crash
    ],
)
def test_anything_else_is_refused(header: str | None) -> None:
    assert not signature_ok(SECRET, BODY, header)


def test_an_empty_app_secret_verifies_nothing() -> None:
    assert not signature_ok("", BODY, sign("", BODY))


def test_meta_signs_escaped_json_so_re_serialising_would_break_it() -> None:
    escaped = b'{"message":"Gr\\u00f8d"}'
    assert signature_ok(SECRET, escaped, sign(SECRET, escaped))
    reserialised = json.dumps(json.loads(escaped), ensure_ascii=False).encode()
    assert not signature_ok(SECRET, reserialised, sign(SECRET, escaped))


def test_raw_body_reverses_the_function_url_encoding() -> None:
    assert raw_body(BODY.decode(), False) == BODY
    assert raw_body(base64.b64encode(BODY).decode(), True) == BODY
    assert raw_body("not base64!", True) == b""
    assert raw_body(None, False) == b""


# ------------------------------------------------------------------ notifications
def test_feed_changes_carry_their_text_and_author() -> None:
    (event,) = facebook.webhook_events(load("facebook/webhook-feed-comment-documented.json"))
    assert event.fetch is None and event.mention is not None
    mention = event.mention
    assert (mention.source, mention.post_id, mention.is_reply) == (
        "facebook",
        "600000000000001_500000000000001",
        True,
    )
    assert mention.handle == mention.author_id == "100001234567890"
    assert mention.created_at == datetime(2026, 11, 27, 10, 50, tzinfo=UTC)


def test_a_page_mention_is_ids_only_and_is_completed_from_graph() -> None:
    (event,) = facebook.webhook_events(load("facebook/webhook-mention-post.json"))
    assert event.mention is not None and event.mention.text == "" and event.fetch is not None
    post = load("facebook/post-mentioned.json")

    class Api:
        def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
            assert path == post["id"] and "message" in (params or {})["fields"]
            return post  # Graph withholds `from` for this post

    mention = event.fetch(Api())
    assert mention.text.startswith("Lynet Bredbånd har lovet")
    assert mention.author_id == "100008888888888"  # from the notification's sender
    assert mention.display_name == "Søren Ærø-Hansen"


def test_reactions_removals_and_unknown_fields_are_ignored_with_a_reason() -> None:
    events = facebook.webhook_events(load("facebook/webhook-ignored-documented.json"))
    assert [(e.field, e.ignored) for e in events] == [
        ("feed", "item"),
        ("feed", "verb"),
        ("ratings", "field"),
    ]
    assert all(e.mention is None for e in events)


def test_the_page_s_own_posts_are_flagged() -> None:
    value = {"item": "status", "verb": "add", "post_id": "1_2", "message": "Driftsinfo"}
    body = {
        "entry": [
            {
                "id": "1",
                "time": 1795776600,
                "changes": [
                    {
                        "field": "feed",
                        "value": {
                            **value,
                            "from": {"id": "101234567890123", "name": "Lynet Bredbånd"},
                        },
                    }
                ],
            }
        ]
    }
    (event,) = facebook.webhook_events(body, own=["101234567890123"])
    assert event.mention is not None and event.mention.is_own_account


@pytest.mark.parametrize(
    ("file", "post_id", "reply"),
    [
        ("instagram/webhook-mentions-caption.json", "17918195224117851", False),
        ("instagram/webhook-mentions-comment.json", "17894227972186120", True),
    ],
)
def test_instagram_mentions_are_read_through_the_mentioned_account(
    file: str, post_id: str, reply: bool
) -> None:
    (event,) = instagram.webhook_events(load(file))
    assert event.mention is not None and event.fetch is not None
    assert (event.mention.post_id, event.mention.is_reply) == (post_id, reply)
    answer = load("instagram/mentioned-comment.json" if reply else "instagram/mentioned-media.json")

    class Api:
        def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
            assert path == "17841400000000000"  # the account the notification is about
            fields = (params or {})["fields"]
            assert fields.startswith("mentioned_comment" if reply else "mentioned_media")
            assert f"({post_id})" in fields
            return answer

    mention = event.fetch(Api())
    assert mention.post_id == post_id and mention.text and mention.handle


def test_instagram_login_sends_flat_entries_and_they_are_read_too() -> None:
    body = {
        "object": "instagram",
        "entry": [
            {
                "id": "178",
                "time": 1795776240,
                "field": "comments",
                "value": {
                    "id": "179",
                    "text": "Nettet er nede",
                    "from": {"id": "5", "username": "Mette.J"},
                },
            }
        ],
    }
    (event,) = instagram.webhook_events(body)
    assert event.mention is not None and event.fetch is None
    assert (event.mention.post_id, event.mention.handle) == ("179", "mette.j")


@pytest.mark.parametrize("source", ["facebook", "instagram"])
@pytest.mark.parametrize("body", [{"object": "page"}, {"entry": "x"}, []])
def test_a_notification_without_entries_is_a_typed_error(source: str, body: Any) -> None:
    with pytest.raises(SourcePayloadError, match=f"^{source}: "):
        parse_page(source, body)


# ------------------------------------------------------------------ one post, two paths
def _ids(source: str, path: str) -> set[str]:
    return {m.post_id for m in parse_page(source, load(path))[0]}


@pytest.mark.parametrize(
    ("source", "webhook", "polled"),
    [
        ("facebook", "facebook/webhook-feed-status.json", "facebook/visitor-posts.json"),
        (
            "facebook",
            "facebook/webhook-feed-comment-documented.json",
            "facebook/feed-comments.json",
        ),
        (
            "instagram",
            "instagram/webhook-comments-documented.json",
            "instagram/media-comments-documented.json",
        ),
        ("instagram", "instagram/webhook-mentions-caption.json", "instagram/mentioned-media.json"),
        (
            "instagram",
            "instagram/webhook-mentions-comment.json",
            "instagram/mentioned-comment.json",
        ),
    ],
)
def test_webhook_and_graph_name_the_same_post_the_same_way(
    source: str, webhook: str, polled: str
) -> None:
    (post_id,) = _ids(source, webhook)
    assert post_id in _ids(source, polled)


def test_a_comment_id_is_rebuilt_from_its_permalink() -> None:
    link = "https://www.facebook.com/19292868552/posts/10158371815748553/?comment_id=1015837193"
    assert facebook.comment_id_from_permalink(link) == "10158371815748553_1015837193"
    reply = link + "&reply_comment_id=42"
    assert facebook.comment_id_from_permalink(reply) == "10158371815748553_42"
    assert facebook.comment_id_from_permalink("https://www.facebook.com/x") is None


def test_a_comment_links_to_its_post_with_the_comment_id() -> None:
    # The shape of Facebook's own comment permalinks (test above): the e-mail's link opens
    # the post at the comment, not a page that does not exist.
    notification = json.loads(
        (DATA / "facebook" / "webhook-feed-comment-documented.json").read_text()
    )
    [mention] = facebook.parse_page(notification)[0]
    assert mention.url == (
        "https://www.facebook.com/101234567890123/posts/600000000000001/?comment_id=500000000000001"
    )
    assert facebook.comment_url("6_5") == "https://www.facebook.com/6/?comment_id=5"
    story = "https://www.facebook.com/permalink.php?story_fbid=pfbid0abc&id=1012"
    assert facebook.comment_url("6_5", story) == f"{story}&comment_id=5"
    assert facebook.comment_id_from_permalink(mention.url) == mention.post_id  # round trip


# ------------------------------------------------------------------ Graph errors, usage
def response(status: int, body: Any, headers: dict[str, str] | None = None) -> requests.Response:
    out = requests.Response()
    out.status_code = status
    out._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    out.headers.update(headers or {})
    return out


def error(code: int, subcode: int | None = None) -> dict[str, Any]:
    return {
        "error": {
            "message": "secret detail 100001234567890",
            "code": code,
            "type": "OAuthException",
            "error_subcode": subcode,
        }
    }


@pytest.mark.parametrize("code", [4, 17, 32, 613, 80001, 80002])
def test_throttle_codes_stop_the_run(code: int) -> None:
    with pytest.raises(SourceRateLimited):
        check_graph("facebook", response(400 if code != 4 else 403, error(code)))


def test_throttle_waits_as_long_as_meta_says() -> None:
    buc = {"1": [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 7}]}
    headers = {"X-Business-Use-Case-Usage": json.dumps(buc)}
    with pytest.raises(SourceRateLimited) as caught:
        check_graph("facebook", response(400, error(80001), headers))
    assert caught.value.retry_after_s == 420


@pytest.mark.parametrize(("code", "subcode"), [(190, 463), (190, 460), (102, None), (10, None)])
def test_refused_credentials_are_auth_errors_without_the_message(
    code: int, subcode: int | None
) -> None:
    with pytest.raises(SourceAuthError) as caught:
        check_graph("instagram", response(400, error(code, subcode)))
    assert "100001234567890" not in str(caught.value)  # Graph messages may quote ids


def test_other_graph_errors() -> None:
    with pytest.raises(SourceUnavailable):
        check_graph("facebook", response(500, error(2)))
    with pytest.raises(SourcePayloadError, match="Graph error 100/33"):
        check_graph("facebook", response(400, error(100, 33)))
    with pytest.raises(SourceRateLimited):
        check_graph("facebook", response(429, b"<html>slow down</html>"))
    assert check_graph("facebook", response(200, {"data": []})) == {"data": []}


def test_usage_headers() -> None:
    assert usage({"x-app-usage": '{"call_count":91,"total_cputime":15,"total_time":12}'}) == (
        91.0,
        None,
    )
    assert usage({"X-App-Usage": "not json"}) == (0.0, None)
    buc = {"9": [{"type": "instagram", "call_count": 3, "total_time": 97}]}
    assert usage({"X-Business-Use-Case-Usage": json.dumps(buc)})[0] == 97.0


def test_a_nearly_spent_budget_stops_before_the_next_request() -> None:
    budget = GraphBudget("facebook")
    budget.note({"x-app-usage": '{"call_count": 94, "total_time": 10}'})
    budget.check()  # still fine
    budget.note({"x-app-usage": '{"call_count": 12, "total_time": 96}'})
    with pytest.raises(SourceRateLimited):
        budget.check()


# ------------------------------------------------------------------ paging and cursors
def test_next_page_prefers_cursors_and_never_keeps_the_token() -> None:
    tagged = load("facebook/tagged-page1-documented.json")
    assert json.loads(next_page(tagged) or "") == {"after": "QVFIUjJ"}
    assert next_page(load("facebook/tagged-page2-documented.json")) is None  # no `next`
    timed = {
        "paging": {
            "next": "https://graph.facebook.com/v25.0/4/posts?access_token=SECRET"
            "&until=1624385168&since&__paging_token=tok&appsecret_proof=p"
        }
    }
    params = json.loads(next_page(timed) or "")
    assert params == {"until": "1624385168", "since": "", "__paging_token": "tok"}


class Pages:
    """A Graph stand-in for one edge: answers `get` with scripted bodies."""

    def __init__(self, bodies: list[Any]) -> None:
        self.bodies = bodies
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        self.calls.append((path, dict(params or {})))
        return self.bodies.pop(0)


NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def comment(cid: str, minutes_ago: float) -> dict[str, Any]:
    at = (NOW - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%S+0000")
    return {"id": cid, "message": f"comment {cid}", "created_time": at}


def posts(*comments: dict[str, Any], more: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"data": [{"id": "p1", "comments": {"data": list(comments)}}]}
    if more:
        body["paging"] = {"next": "https://graph/x?after=A", "cursors": {"after": "A"}}
    return body


def comments_edge(api: Pages, clock: list[datetime]) -> CommentsEdge:
    return CommentsEdge(
        "facebook",
        api,
        "1/feed",
        post_fields="created_time",
        comment_time="created_time",
        comment_fields="id,message,created_time",
        parse=facebook.parse_comment,
        lookback=timedelta(hours=72),
        clock=lambda: clock[0],
    )


def test_comments_are_handed_out_once_across_sweeps() -> None:
    clock = [NOW]
    api = Pages(
        [
            posts(comment("a", 60), comment("old", 60 * 80), more=True),  # sweep 1, page 1
            posts(comment("e", 1), comment("b", 30)),  # sweep 1, page 2
            posts(comment("c", -0.5), comment("e", 1), comment("a", 60)),  # sweep 2
            posts(comment("d", -15), comment("c", -0.5)),  # sweep 3
        ]
    )
    edge = comments_edge(api, clock)
    first = edge.fetch_page(None)
    assert [m.post_id for m in first.mentions] == ["a"] and first.has_more  # "old" is stale
    second = edge.fetch_page(first.cursor)
    assert [m.post_id for m in second.mentions] == ["e", "b"] and not second.has_more
    assert api.calls[1][1]["after"] == "A"
    # "c" was written after the first page was read: the next sweep hands it out; "e" was
    # handed out already (it is newer than the sweep's start, so it is read again)
    clock[0] = NOW + timedelta(minutes=10)
    third = edge.fetch_page(second.cursor)
    assert [m.post_id for m in third.mentions] == ["c"]
    clock[0] = NOW + timedelta(minutes=20)
    fourth = edge.fetch_page(third.cursor)
    assert [m.post_id for m in fourth.mentions] == ["d"]


def test_comment_pages_inside_a_post_are_followed_while_recent() -> None:
    nested = {
        "id": "p1",
        "comments": {
            "data": [comment("a", 5)],
            "paging": {"next": "https://graph/p1/comments?after=N", "cursors": {"after": "N"}},
        },
    }
    api = Pages([{"data": [nested]}, {"data": [comment("b", 10)]}])
    page = comments_edge(api, [NOW]).fetch_page(None)
    assert [m.post_id for m in page.mentions] == ["a", "b"]
    assert api.calls[1][0] == "p1/comments" and api.calls[1][1]["after"] == "N"


class Edge:
    def __init__(self, name: str, pages: int) -> None:
        self.name, self.pages, self.calls = name, pages, 0

    def fetch_page(self, cursor: str | None) -> Any:
        from socialcare.sources.ports import Page

        self.calls += 1
        n = int(cursor or 0) + 1
        return Page([], str(n % self.pages), has_more=n % self.pages != 0)


def test_rotation_reads_each_edge_in_turn_and_resumes_where_it_stopped() -> None:
    a, b = Edge("a", 2), Edge("b", 1)
    rotation = Rotation("facebook", [("a", a), ("b", b)])
    first = rotation.fetch_page(None)
    assert first.has_more and json.loads(first.cursor or "")["edge"] == "a"
    second = rotation.fetch_page(first.cursor)
    assert second.has_more and json.loads(second.cursor or "")["edge"] == "b"
    third = rotation.fetch_page(second.cursor)
    assert not third.has_more and json.loads(third.cursor or "")["edge"] == "a"
    assert (a.calls, b.calls) == (2, 1)
    restart = rotation.fetch_page("not json")  # an unreadable cursor starts over
    assert json.loads(restart.cursor or "")["edge"] == "a" and a.calls == 3


# ------------------------------------------------------------------ socialcare parse
@pytest.mark.parametrize(
    ("source", "file", "count"),
    [
        ("facebook", "tagged-page1-documented.json", 2),  # a Graph answer
        ("facebook", "webhook-feed-comment-documented.json", 1),  # a webhook body
        ("facebook", "webhook-mention-post.json", 1),  # ids only: text is empty until fetched
        ("instagram", "tags-page1.json", 2),
        ("instagram", "mentioned-comment.json", 1),
        ("instagram", "webhook-mentions-caption.json", 1),
    ],
)
def test_the_parse_command_reads_graph_answers_and_webhook_bodies(
    source: str, file: str, count: int, capsys: pytest.CaptureFixture[str]
) -> None:
    from socialcare_cli.main import main

    assert main(["parse", "--source", source, str(DATA / source / file)]) == 0
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == count and all(line["source"] == source for line in lines)
    assert f"{count} mentions, 0 unreadable post items ({source})" in err


def test_the_parse_command_refuses_a_graph_error(capsys: pytest.CaptureFixture[str]) -> None:
    from socialcare_cli.main import main

    file = DATA / "facebook" / "error-190-documented.json"
    assert main(["parse", "--source", "facebook", str(file)]) == 2
    assert "an error, not a page: Graph error 190/463" in capsys.readouterr().err


# ------------------------------------------------------------------ the receiver's choices
def deps(answer: Any, queue: Any) -> Any:
    from socialcare.sources.webhooks import WebhookDeps

    class Api:
        def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
            if isinstance(answer, Exception):
                raise answer
            return answer

    return WebhookDeps(
        queue=queue,
        secret=lambda: {"app_secret": SECRET},
        graph=lambda source: Api(),
        sources=frozenset({"facebook"}),
    )


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        ({"id": "x", "created_time": "not a time", "message": "Nede"}, 200),  # odd: unfetchable
        (SourcePayloadError("facebook", "Graph error 100/33"), 200),  # deleted: left to polling
        (SourceUnavailable("facebook", "HTTP 503"), 500),  # may pass: Meta delivers again
        (SourceRateLimited("facebook", 60), 500),
        (SourceAuthError("facebook", "credentials refused"), 500),
    ],
)
def test_a_thin_notification_whose_graph_read_fails(answer: Any, status: int) -> None:
    from socialcare.adapters.memory import MemoryQueue
    from socialcare.sources.webhooks import receive

    queue = MemoryQueue()
    data = json.dumps(load("facebook/webhook-mention-post.json")).encode()
    reply = receive(data, {"X-Hub-Signature-256": sign(SECRET, data)}, deps(answer, queue))
    assert reply.status == status and queue.messages == []


def test_a_signed_body_that_is_not_json_is_a_400_and_queues_nothing() -> None:
    from socialcare.adapters.memory import MemoryQueue
    from socialcare.sources.webhooks import receive

    queue = MemoryQueue()
    for data in (b"<xml/>", b"[]", b'{"object": "page", "entry": 3}'):
        reply = receive(data, {"x-hub-signature-256": sign(SECRET, data)}, deps({}, queue))
        assert reply.status == 400 and queue.messages == []
