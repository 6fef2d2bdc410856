"""The Facebook and Instagram backstop polls through the deployed path: template.yaml on
moto's server with both enabled, the Meta secret in Secrets Manager, FetchMentionsFunction
imported as Lambda imports it and run with the schedules' input, against a local Graph
stand-in serving the fixture pages with Graph's paging.

A run reads every edge (`/tagged`, `/visitor_posts`, comments on the Page's feed;
`/tags`, comments on the account's media); the next run reads nothing twice; a throttled
run (error 4 or 613, or usage headers at 95 %) keeps its cursor and the next continues;
an expired token (190) is an auth failure that moves nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from socialcare.errors import SourceAuthError
from socialcare_cli import lambda_local, local_aws, servers
from socialcare_cli.fake_graph import FakeGraph, graph_error
from socialcare_cli.template import Stack, load_template
from tests.conftest import context
from tests.integration import meta_cases as meta

EXPECTED = {
    "facebook": meta.ids(
        *meta.FB_PAGES["tagged"], *meta.FB_PAGES["visitor_posts"], *meta.FB_PAGES["feed"]
    ),
    "instagram": meta.ids(*meta.IG_PAGES["tags"], *meta.IG_PAGES["media"]),
}


@pytest.fixture
def fake() -> Iterator[tuple[FakeGraph, str]]:
    graph = meta.graph()
    with servers.serve(graph) as url:
        yield graph, url


@pytest.fixture
def deployed(aws: str) -> Stack:
    stack = Stack(
        load_template(),
        overrides={
            "EnableFacebook": "true",
            "EnableInstagram": "true",
            "FacebookPageId": meta.PAGE_ID,
            "InstagramUserId": meta.IG_ID,
        },
    )
    local_aws.provision(stack)
    local_aws.set_secret(stack, "MetaSourceSecret", json.dumps(meta.SECRET))
    return stack


def fetcher(stack: Stack, graph_url: str) -> Any:
    """A new container's FetchMentionsFunction (secrets are read afresh)."""
    env = {"HTTP_BACKOFF_S": "0.001", "META_GRAPH_URL": f"{graph_url}/v25.0"}
    return lambda_local.load_handler(stack, "FetchMentionsFunction", env)[1]


def queued(stack: Stack) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    out: list[dict[str, Any]] = []
    while batch := sqs.receive_message(
        QueueUrl=stack.physical["MentionsQueue"], MaxNumberOfMessages=10, VisibilityTimeout=60
    ).get("Messages", []):
        out += [json.loads(m["Body"]) for m in batch]
    return out


def state(stack: Stack) -> list[dict[str, Any]]:
    return list(boto3.client("dynamodb").scan(TableName=stack.physical["StateTable"])["Items"])


def test_the_template_schedules_both_sources(deployed: Stack) -> None:
    env = deployed.function_environment("FetchMentionsFunction")
    assert {"facebook", "instagram"} <= set(env["ENABLED_SOURCES"].split(","))
    assert env["META_SECRET"] == deployed.physical["MetaSourceSecret"]
    assert (env["FACEBOOK_PAGE_ID"], env["INSTAGRAM_USER_ID"]) == (meta.PAGE_ID, meta.IG_ID)
    events = deployed.resources["FetchMentionsFunction"]["Properties"]["Events"]
    for name in ("facebook", "instagram"):
        schedule = events[f"{name.title()}Schedule"]["Properties"]
        assert json.loads(schedule["Input"]) == {"source": name}
        assert deployed.resolve(schedule["State"]) == "ENABLED"


@pytest.mark.parametrize("source", ["facebook", "instagram"])
def test_a_run_reads_every_edge_page_by_page_and_the_next_reads_nothing_twice(
    deployed: Stack, fake: tuple[FakeGraph, str], source: str
) -> None:
    graph, url = fake
    first = fetcher(deployed, url)({"source": source}, context())
    assert first["stopped"] == "done" and first["pages"] >= 3
    mentions = queued(deployed)
    assert sorted(m["post_id"] for m in mentions) == sorted(EXPECTED[source])
    assert all(m["source"] == source and m["text"] for m in mentions)
    assert all(m["addressed"] for m in mentions)  # every edge is a place at our account
    # Graph's paging was followed: cursors on /tagged and /tags, the next URL on feeds
    asked = [q for _, _, q in graph.requests]
    assert any("after" in q for q in asked)
    if source == "facebook":
        assert any("__paging_token" in q for q in asked)
    assert all("access_token" not in q and "appsecret_proof" in q for q in asked)

    second = fetcher(deployed, url)({"source": source}, context())
    assert second["fetched"] == 0 and queued(deployed) == []

    # the state table holds a cursor: no token, no text, no name
    written = json.dumps(state(deployed), ensure_ascii=False)
    assert meta.PAGE_TOKEN not in written and "access_token" not in written
    for mention in mentions:
        for key in ("text", "display_name", "handle"):
            if mention.get(key):
                assert mention[key] not in written, key


def test_a_post_tagged_after_a_run_is_read_by_the_next(
    deployed: Stack, fake: tuple[FakeGraph, str]
) -> None:
    graph, url = fake
    fetcher(deployed, url)({"source": "facebook"}, context())
    queued(deployed)
    graph.add_page(f"{meta.PAGE_ID}/tagged", meta.load("facebook/tagged-newer-documented.json"))
    again = fetcher(deployed, url)({"source": "facebook"}, context())
    assert [m["post_id"] for m in queued(deployed)] == ["100002222222222_900000000000004"]
    assert again["fetched"] == 1


THROTTLES = {
    "code-4": graph_error(4, "(#4) Application request limit reached", status=403),
    "code-613": graph_error(613, "(#613) Calls to this api have exceeded the rate limit."),
    "code-17": graph_error(17, "(#17) User request limit reached"),
}


@pytest.mark.parametrize("throttle", list(THROTTLES))
@pytest.mark.parametrize("source", ["facebook", "instagram"])
def test_a_throttled_run_keeps_its_cursor_and_the_next_continues(
    deployed: Stack, fake: tuple[FakeGraph, str], source: str, throttle: str
) -> None:
    graph, url = fake
    graph.fail_next = [None, THROTTLES[throttle]]  # the first page, then Graph says stop
    first = fetcher(deployed, url)({"source": source}, context())
    assert first["stopped"] == "rate_limited" and first["fetched"] == 2
    second = fetcher(deployed, url)({"source": source}, context())
    assert second["stopped"] == "done"
    assert sorted(m["post_id"] for m in queued(deployed)) == sorted(EXPECTED[source])


def test_usage_headers_near_the_limit_stop_the_run_after_the_page_in_hand(
    deployed: Stack, fake: tuple[FakeGraph, str], capsys: pytest.CaptureFixture[str]
) -> None:
    graph, url = fake
    graph.usage = {"call_count": 96, "total_cputime": 20, "total_time": 40}
    first = fetcher(deployed, url)({"source": "facebook"}, context())
    assert first["stopped"] == "rate_limited" and (first["pages"], first["fetched"]) == (1, 2)
    assert len(graph.requests) == 1  # no request after Meta said 96 %
    # A plain rate limit heals by itself: the run's line says so, no alarm metric counts it.
    assert '"RateLimitedRuns"' not in capsys.readouterr().out
    graph.usage = {"call_count": 40, "total_cputime": 20, "total_time": 40}
    second = fetcher(deployed, url)({"source": "facebook"}, context())
    assert second["stopped"] == "done"
    assert sorted(m["post_id"] for m in queued(deployed)) == sorted(EXPECTED["facebook"])


def test_business_use_case_usage_throttles_instagram_too(
    deployed: Stack, fake: tuple[FakeGraph, str]
) -> None:
    graph, url = fake
    graph.business_usage = {
        meta.IG_ID: [{"type": "instagram", "call_count": 99, "estimated_time_to_regain_access": 3}]
    }
    report = fetcher(deployed, url)({"source": "instagram"}, context())
    assert report["stopped"] == "rate_limited" and report["pages"] == 1


@pytest.mark.parametrize("source", ["facebook", "instagram"])
def test_an_expired_token_is_a_counted_auth_failure_that_moves_nothing(
    deployed: Stack, fake: tuple[FakeGraph, str], source: str, capsys: pytest.CaptureFixture[str]
) -> None:
    graph, url = fake
    graph.token = "the-renewed-token"  # ours has expired: error 190, subcode 463
    with pytest.raises(SourceAuthError, match=f"^{source}: credentials refused: Graph error 190"):
        fetcher(deployed, url)({"source": source}, context())
    out = capsys.readouterr().out
    assert '"SourceAuthFailedTotal"' in out and '"SourceHeartbeat"' not in out
    assert queued(deployed) == [] and state(deployed) == []
    # renewed in Secrets Manager: the next container reads it and catches up
    local_aws.set_secret(
        deployed, "MetaSourceSecret", json.dumps({**meta.SECRET, "page_access_token": graph.token})
    )
    report = fetcher(deployed, url)({"source": source}, context())
    assert report["stopped"] == "done" and report["fetched"] == len(EXPECTED[source])


def test_a_source_without_its_account_id_is_a_config_error(
    aws: str, fake: tuple[FakeGraph, str]
) -> None:
    stack = Stack(load_template(), overrides={"EnableFacebook": "true"})
    local_aws.provision(stack)
    with pytest.raises(Exception, match="FACEBOOK_PAGE_ID"):
        fetcher(stack, fake[1])({"source": "facebook"}, context())
