"""API Gateway's websocket management API (`@connections/{id}`).

The endpoint is `Settings.websocket_management_url` when set (the local gateway in
infra/local), else derived from the API id and stage the way Chalice derives it on
AWS — so a sender outside a websocket event (a Step Functions task, a route) reaches
the same connections as a websocket handler does.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from chalicelib.adapters.aws import call
from chalicelib.core.config import get_settings
from chalicelib.core.errors import PayloadTooLarge, TransientFailure

SERVICE = "apigatewaymanagementapi"


class _Gone(Exception):
    """The connection is closed (410): not an error of ours, an answer."""


def management_endpoint(api_id: str, stage: str) -> str:
    configured = get_settings().websocket_management_url
    if configured:
        return configured.rstrip("/")
    region = get_settings().aws_region
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://{api_id}.execute-api.{region}.{suffix}/{stage}"


@lru_cache(maxsize=16)
def _client(endpoint_url: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "apigatewaymanagementapi",
        endpoint_url=endpoint_url,
        region_name=get_settings().aws_region,
        # A push must not stall its caller: short timeouts, few retries.
        config=Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5),
    )


def post(api_id: str, stage: str, connection_id: str, data: bytes) -> bool:
    """Send one message to one connection. False: the connection is gone (410)."""
    return _on_connection("post_to_connection", api_id, stage, connection_id, Data=data)


def close(api_id: str, stage: str, connection_id: str) -> bool:
    """Close a connection from the server side. False: it was already gone."""
    return _on_connection("delete_connection", api_id, stage, connection_id)


def is_open(api_id: str, stage: str, connection_id: str) -> bool:
    """Whether the gateway still holds the connection (GET @connections/{id}); False on 410."""
    return _on_connection("get_connection", api_id, stage, connection_id)


def _on_connection(operation: str, api_id: str, stage: str, connection_id: str, **params: object) -> bool:
    details = {"connection_id": connection_id}
    errors = {
        # botocore's GoneException is a ClientError subclass; its code is what tells it apart.
        "GoneException": _Gone(),
        "PayloadTooLargeException": PayloadTooLarge(
            "The websocket message is larger than API Gateway allows (128 KB).", details=details
        ),
        "LimitExceededException": TransientFailure("The websocket management API is busy.", details=details),
    }
    via = _client(management_endpoint(api_id, stage))
    try:
        call(SERVICE, operation, errors=errors, via=via, ConnectionId=connection_id, **params)
    except _Gone:
        return False
    return True


class ManagementSession:
    """What Chalice's `app.websocket_api.session` needs, without importing boto3 at start-up.

    Chalice asks it for an `apigatewaymanagementapi` client with the endpoint it derived
    from the event; a configured `websocket_management_url` wins, as it does above.
    """

    @property
    def region_name(self) -> str:
        return get_settings().aws_region

    def client(self, service_name: str, endpoint_url: str | None = None, **kwargs: Any) -> Any:
        assert service_name == "apigatewaymanagementapi", service_name
        return _client(get_settings().websocket_management_url.rstrip("/") or endpoint_url)
