"""Platform health: every component the API depends on, checked concurrently."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from chalicelib.adapters import probes
from chalicelib.core.config import Settings
from chalicelib.core.schemas import ComponentHealth, HealthOut


def check(settings: Settings) -> HealthOut:
    checks: list[tuple[str, str, Callable[[], str] | None]] = [
        ("emulator" if settings.aws_endpoint_url else "aws", "emulator", probes.identity_service),
        *[(name, "table", _bind(probes.table, name)) for name in settings.table_names()],
        *[(name, "bucket", _bind(probes.bucket, name)) for name in settings.bucket_names()],
        *[
            (arn.rsplit(":", 1)[-1], "state_machine", _bind(probes.state_machine, arn))
            for arn in settings.state_machine_arns()
        ],
        (
            "websocket-gateway",
            "websocket_gateway",
            _bind(probes.websocket_management, settings.websocket_management_url)
            if settings.websocket_management_url
            else None,
        ),
    ]
    with ThreadPoolExecutor(max_workers=8) as pool:
        reasons = list(pool.map(lambda c: c[2]() if c[2] else None, checks))
    components = [ComponentHealth(name="api", kind="api", status="ok")]
    for (name, kind, _), reason in zip(checks, reasons, strict=False):
        status = "not_configured" if reason is None else ("ok" if reason == "" else "down")
        components.append(ComponentHealth(name=name, kind=kind, status=status, detail=reason or ""))
    healthy = all(c.status in ("ok", "not_configured") for c in components)
    return HealthOut(status="ok" if healthy else "degraded", components=components)


def _bind(probe: Callable[[str], str], argument: str) -> Callable[[], str]:
    return lambda: probe(argument)
