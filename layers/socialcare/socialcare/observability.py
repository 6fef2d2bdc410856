"""Logger and Metrics, created once per container. Nothing personal is ever logged.

Log lines carry hashed ids and reason codes; metric dimensions are low-cardinality
(source, topic, reason, mode), never a person or a post.
"""

from __future__ import annotations

import warnings

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

NAMESPACE = "Socialcare"

# Our counts are single EMF blobs; the handler-level Metrics object may legitimately
# flush nothing but the cold-start metric.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger(service="socialcare")
metrics = Metrics(namespace=NAMESPACE, service="socialcare")


def count(name: str, value: float = 1, **dimensions: str) -> None:
    """Emit one count as its own EMF blob, so per-record dimensions never mix."""
    with single_metric(name=name, unit=MetricUnit.Count, value=value, namespace=NAMESPACE) as m:
        for key, val in dimensions.items():
            m.add_dimension(name=key, value=val)
