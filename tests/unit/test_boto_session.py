"""The functions' boto3 session (socialcare.adapters.boto) reads botocore's data leaner and
must still send every request where botocore itself would: same URL, same signing scope,
in every partition, with and without FIPS."""

from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import BotoCoreError

from socialcare.adapters import boto

DATA = Path(botocore.__file__).parent / "data"
# One call per service that needs no arguments.
CALLS = {
    "dynamodb": "list_tables",
    "kms": "list_keys",
    "secretsmanager": "list_secrets",
    "sesv2": "get_account",
    "sqs": "list_queues",
    "ssm": "describe_parameters",
}


def _regions() -> list[str]:
    """Two regions of every partition in botocore's endpoints file."""
    endpoints = json.loads((DATA / "endpoints.json").read_text("utf-8"))
    return [r for p in endpoints["partitions"] for r in sorted(p["regions"])[:2]]


def _sent(session: boto3.session.Session, service: str, region: str, fips: bool) -> str:
    """Where a call goes and how it is signed (URL and credential scope), or the error."""
    seen: dict[str, Any] = {}

    def capture(request: Any, **_: Any) -> AWSResponse:
        seen["url"] = request.url.split("?")[0]
        credential = request.headers["Authorization"].decode().split("Credential=")[1]
        seen["scope"] = "/".join(credential.split(",")[0].split("/")[2:])  # region/service/...
        return AWSResponse(request.url, 500, {}, None)  # never on the network

    try:
        client = session.client(  # type: ignore[call-overload]
            service,
            region_name=region,
            aws_access_key_id="AKIDEXAMPLE",
            aws_secret_access_key="secret",  # never sent anywhere
            config=Config(use_fips_endpoint=fips, retries={"max_attempts": 1}),
        )
        client.meta.events.register_first("before-send", capture)
        getattr(client, CALLS[service])()
    except BotoCoreError as exc:
        return f"{type(exc).__name__}: {exc}"
    except Exception:  # noqa: S110 - the 500 we answered: the request is captured
        pass
    assert seen, "no request was sent"
    return f"{seen['url']} {seen['scope']}"


@pytest.fixture
def no_endpoint_override(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    for service in CALLS:
        monkeypatch.delenv(f"AWS_ENDPOINT_URL_{service.upper()}", raising=False)


@pytest.mark.usefixtures("no_endpoint_override")
@pytest.mark.parametrize("service", sorted(CALLS))
def test_requests_go_where_botocore_sends_them_in_every_partition(service: str) -> None:
    lean, plain = boto.session(), boto3.session.Session(botocore.session.get_session())
    for region in _regions():
        for fips in (False, True):
            assert _sent(lean, service, region, fips) == _sent(plain, service, region, fips), (
                region,
                fips,
            )


def test_every_service_is_kept_under_its_name_in_the_endpoints_file() -> None:
    core = botocore.session.get_session()
    for service, name in boto.SERVICES.items():
        assert core.get_service_model(service).endpoint_prefix == name
    assert set(boto.SERVICES) == set(CALLS)


def test_models_load_as_dicts_and_the_endpoints_file_keeps_only_our_services() -> None:
    loader = boto.session()._session.get_component("data_loader")
    endpoints = loader.load_data("endpoints")
    assert type(endpoints) is dict and not isinstance(endpoints, OrderedDict)
    for partition in endpoints["partitions"]:
        assert set(partition["services"]) <= set(boto.SERVICES.values())
        assert partition["regions"]  # the rest of the file as botocore has it
    assert {"dynamodb", "email"} <= set(endpoints["partitions"][0]["services"])
    model = loader.load_service_model("sqs", "service-2")
    assert type(model) is dict and "SendMessage" in model["operations"]


def test_a_service_outside_the_list_is_refused() -> None:
    with pytest.raises(ValueError, match=r"boto\.SERVICES"):
        boto.client("s3")
