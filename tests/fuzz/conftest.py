"""`make fuzz`: property-based tests over the edges (hypothesis). FUZZ_CASES scales the
number of cases per target (default 200); the seed comes from --hypothesis-seed (CI
pins one). The table of targets is printed at the end of the run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from aws_lambda_powertools.utilities import parameters
from hypothesis import HealthCheck, settings

from socialcare_cli import lambda_local, local_aws, platforms, servers
from socialcare_cli.template import Stack, load_template
from tests.conftest import HASH_KEY
from tests.fuzz.report import BASE_CASES, table, too_slow
from tests.integration import meta_cases as meta
from tests.integration import push_cases as push
from tests.integration.oidc_tokens import jwks

settings.register_profile(
    "fuzz",
    max_examples=BASE_CASES,
    deadline=None,  # timings go in the table, not in a flaky per-case deadline
    database=None,  # a run depends on its seed only
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.filter_too_much,
    ],
    print_blob=True,
)
settings.load_profile("fuzz")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = table()
    if len(lines) > 1:
        terminalreporter.section("fuzz targets")
        for line in lines:
            terminalreporter.write_line(line)
        for target in too_slow():
            terminalreporter.write_line(f"TOO SLOW: {target} (over half its function's timeout)")


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    if too_slow() and exitstatus == 0:
        session.exitstatus = 1


@pytest.fixture(scope="session")
def emulated(moto_endpoint: str) -> Iterator[dict[str, Any]]:
    """template.yaml on moto's server (Facebook, Instagram and the push sources on), and
    the Function URL handlers loaded the way Lambda loads them: the template's environment
    plus SOCIALCARE_HASH_KEY. Session-wide, so hypothesis runs many cases against one stack."""
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10)
    parameters.clear_caches()
    stack = Stack(
        load_template(),
        overrides={
            "EnableFacebook": "true",
            "EnableInstagram": "true",
            "FacebookPageId": meta.PAGE_ID,
            "InstagramUserId": meta.IG_ID,
            **push.PUSH_OVERRIDES,
        },
    )
    local_aws.provision(stack)
    local_aws.set_secret(stack, "MetaSourceSecret", json.dumps(meta.SECRET))
    push.set_push_secrets(stack)
    graph = meta.graph()
    secret = push.GOOGLE_SECRET
    google = platforms.FakeGoogle(
        [], (secret["client_id"], secret["client_secret"], secret["refresh_token"]), jwks()
    )
    with servers.serve(graph) as graph_url, servers.serve(google) as google_url:
        env = {
            "SOCIALCARE_HASH_KEY": HASH_KEY,
            "HTTP_BACKOFF_S": "0.001",
            "META_GRAPH_URL": f"{graph_url}/v25.0",
            # the push routes' read-backs: Google's stand-in, the others refused locally
            "GOOGLE_API_URL": f"{google_url}/v4",
            "GOOGLE_TOKEN_URL": f"{google_url}/token",
            "GOOGLE_JWKS_URL": f"{google_url}/oauth2/v3/certs",
            "THREADS_API_URL": "http://127.0.0.1:9/v1.0",
            "TRUSTPILOT_API_URL": "http://127.0.0.1:9",
        }
        yield {
            "stack": stack,
            "webhook": lambda_local.load_handler(stack, "ReceiveWebhookFunction", env)[1],
            "unsubscribe": lambda_local.load_handler(stack, "UnsubscribeFunction", env)[1],
        }
