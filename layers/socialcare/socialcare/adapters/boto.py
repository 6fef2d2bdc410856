"""boto3 clients for the services the functions call, on one session per process that
reads botocore's data leaner (docs/bench.md, "Peak memory"):

- into plain dicts: botocore parses its JSON with `object_pairs_hook=OrderedDict`; a dict
  keeps its order as well and botocore uses nothing an OrderedDict adds on this data. As
  dicts a service model takes about 60 % of the memory and parses faster (SSM's: 2.2 MiB
  instead of 3.3);
- the endpoints file (3.9 MiB as dicts, 305 services in the aws partition alone) with only
  the services of `SERVICES` in each partition: 0.2 MiB. What is kept is botocore's own
  data unchanged, so a client resolves its endpoint and signing region exactly as with the
  whole file (tests/unit/test_boto_session.py compares them in every partition).

Imported with the first client only.
"""

from __future__ import annotations

import gzip
import json
import os
from functools import cache
from typing import Any

import boto3
import botocore.session
from botocore.loaders import JSONFileLoader

# The services the functions call, each with its name in the endpoints file (the model's
# endpointPrefix: SES v2's is "email"). A client of another service is refused: it would
# resolve from the partition's defaults alone.
SERVICES = {
    "dynamodb": "dynamodb",
    "kms": "kms",
    "secretsmanager": "secretsmanager",
    "sesv2": "email",
    "sqs": "sqs",
    "ssm": "ssm",
}
# botocore's order: a plain file before a compressed one.
_OPENERS: tuple[tuple[str, Any], ...] = ((".json", open), (".json.gz", gzip.open))


class LeanJsonFiles(JSONFileLoader):
    """botocore's file loader (`exists`, `load_file`): dicts, and the endpoints file kept
    to our services."""

    def load_file(self, file_path: str) -> Any:
        for ext, opener in _OPENERS:
            if os.path.isfile(file_path + ext):
                with opener(file_path + ext, "rb") as f:
                    text = f.read().decode("utf-8")  # the bytes go before parsing: a lower peak
                data = json.loads(text)
                return only_our_services(data) if _is_endpoints(file_path) else data
        return None


def _is_endpoints(file_path: str) -> bool:
    return os.path.basename(file_path) == "endpoints"


def only_our_services(endpoints: dict[str, Any]) -> dict[str, Any]:
    keep = set(SERVICES.values())
    for partition in endpoints.get("partitions", []):
        services = partition.get("services", {})
        partition["services"] = {k: v for k, v in services.items() if k in keep}
    return endpoints


@cache
def session() -> boto3.session.Session:
    """Like boto3's default session (credentials and region from the environment, read
    when a client is made), with the lean loader."""
    core = botocore.session.get_session()
    core.get_component("data_loader").file_loader = LeanJsonFiles()
    return boto3.session.Session(botocore_session=core)


def client(service: str, config: Any = None) -> Any:
    if service not in SERVICES:
        raise ValueError(f"no boto3 client for {service!r}: add it to boto.SERVICES")
    return session().client(service, config=config)  # type: ignore[call-overload]
