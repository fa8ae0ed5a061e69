"""Scheduled (hourly): delete organization invites past their expiry.

DynamoDB TTL deletion can lag by days (and the emulator never expires items), so
expired invites are found through the pending-invites index and deleted here.
"""

from __future__ import annotations

from typing import Any

from chalicelib.core.observability import lambda_handler, logger, metrics
from chalicelib.orgs import service as orgs


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    logger.info("sweep expired invites", extra={"event_id": (event or {}).get("id")})
    deleted = orgs.sweep_expired_invites()
    metrics.add_metric(name="InvitesExpired", unit="Count", value=deleted)
    return {"deleted": deleted}
