"""FetchMentions: one scheduled run for one source ({"source": "<name>"})."""

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare import wiring
from socialcare.observability import logger, metrics
from socialcare.sources.fetch import fetch

runtime = wiring.fetch_runtime()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    source = runtime.source(str(event.get("source", "replay")))
    report = fetch(source, runtime.state, runtime.queue, runtime.settings.max_pages_per_run)
    return asdict(report)
