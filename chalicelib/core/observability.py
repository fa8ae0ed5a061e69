"""Powertools singletons shared by the API and the functions.

Configured by the standard POWERTOOLS_* environment variables (template.yaml Globals;
the local stack disables tracing and metrics output).

`tracer` is made on first use: creating a Tracer imports the X-Ray SDK and botocore
(~400 ms on a cold start), which requests that never trace should not pay for.
`from chalicelib.core.observability import tracer` still works; it is what triggers it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics, MetricUnit

if TYPE_CHECKING:
    from aws_lambda_powertools.tracing import Tracer

SERVICE = "lectern"

# An invocation that records no business event is normal, not worth a warning each time.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

logger = Logger(service=SERVICE)
metrics = Metrics(service=SERVICE, namespace="Lectern")


def lambda_handler(handler: Callable) -> Callable:
    """Every function's handler: Powertools logging context, an X-Ray trace, metrics flushed."""
    return logger.inject_lambda_context(clear_state=True)(
        get_tracer().capture_lambda_handler(metrics.log_metrics(handler))
    )


def count(name: str) -> None:
    """One occurrence of a business event (CloudWatch EMF, flushed per request or invocation)."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


@lru_cache(maxsize=1)
def get_tracer() -> Tracer:
    from aws_lambda_powertools.tracing import Tracer

    return Tracer(service=SERVICE)


def __getattr__(name: str) -> Any:
    # PEP 562: module attribute `tracer`, created lazily.
    if name == "tracer":
        return get_tracer()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
