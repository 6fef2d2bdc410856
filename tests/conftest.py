"""Shared fixtures: a real AWS emulator (moto's server on 127.0.0.1), the stack built
from template.yaml, local HTTP servers, and the handlers imported the way Lambda does.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from aws_lambda_powertools.utilities import parameters

from socialcare_cli import lambda_local, local_aws, servers
from socialcare_cli.template import Stack, load_template

TESTS = Path(__file__).resolve().parent
SHARED = TESTS.parent.parent / "shared"
HASH_KEY = "test-hash-key-0123456789abcdef"
CRM_TOKEN = "test-crm-token"


def load_json(name: str) -> Any:
    return json.loads((TESTS / "data" / name).read_text())


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    with local_aws.moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def aws(moto_endpoint: str) -> Iterator[str]:
    """A clean emulator for each test (moto's reset API), reached over HTTP by boto3."""
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10)
    parameters.clear_caches()  # Powertools caches SSM values and secrets per process
    saved = dict(os.environ)
    os.environ.update(local_aws.FAKE_ENV)
    os.environ["AWS_ENDPOINT_URL"] = moto_endpoint
    yield moto_endpoint
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def replay() -> Iterator[tuple[servers.ReplayPages, str]]:
    pages = servers.ReplayPages(load_json("posts.json"), page_size=3)
    with servers.serve(pages) as url:
        yield pages, url


@pytest.fixture
def crm() -> Iterator[tuple[servers.ContractCrm, str]]:
    data = load_json("crm.json")
    directory = servers.ContractCrm(data["customers"], data.get("interactions"), CRM_TOKEN)
    with servers.serve(directory) as url:
        yield directory, url


@pytest.fixture
def stack(aws: str, replay: tuple[Any, str], crm: tuple[Any, str]) -> Stack:
    """template.yaml provisioned on the emulator, pointed at the local servers."""
    built = Stack(
        load_template(),
        overrides={
            "EnableReplay": "true",
            "ReplayUrl": replay[1],
            "CrmUrl": crm[1],
            "OutreachMode": "live",
            "ReviewAddress": "agents@lynet.example",
        },
    )
    local_aws.provision(built)
    local_aws.set_secret(built, "HashKeySecret", HASH_KEY)
    local_aws.set_secret(built, "CrmTokenSecret", CRM_TOKEN)
    return built


@pytest.fixture
def handler(stack: Stack) -> Any:
    """load(logical_id, **env) -> the handler, imported fresh as Lambda would."""

    def load(logical_id: str, **env: str) -> Any:
        return lambda_local.load_handler(stack, logical_id, {"HTTP_BACKOFF_S": "0.01", **env})[1]

    return load


def context(name: str = "test") -> lambda_local.FakeContext:
    return lambda_local.FakeContext(name)
