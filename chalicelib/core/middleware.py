"""HTTP middleware: request id, body size limit, one error shape for Chalice's own errors."""

from __future__ import annotations

import json
from collections.abc import Callable

from chalice import Response
from chalice.app import Request

from chalicelib.core.config import get_settings
from chalicelib.core.errors import MethodNotAllowed, PayloadTooLarge
from chalicelib.core.observability import logger, metrics
from chalicelib.core.routing import JSON_HEADERS, error_response, request_id_of

NO_ROUTE = "No route matches this method and path."  # as template.yaml's GatewayResponse says
NO_METHOD = "This path does not serve this method; `Allow` lists those it does."


def request_context(event: Request, get_response: Callable[[Request], Response]) -> Response:
    request_id = request_id_of(event)
    logger.append_keys(request_id=request_id, path=event.path, method=event.method)
    try:
        limit = get_settings().max_json_body_bytes
        if len(event.raw_body or b"") > limit:
            response = error_response(PayloadTooLarge("The request body is too large.", details={"max_bytes": limit}))
        else:
            response = _in_our_shape(get_response(event))
        response.headers["X-Request-Id"] = request_id
        logger.info("request", extra={"status": response.status_code})
        return response
    finally:
        metrics.flush_metrics()
        logger.remove_keys(["request_id", "path", "method"])


def _in_our_shape(response: Response) -> Response:
    """Chalice answers a few cases itself with {"Code", "Message"}; they leave in our shape."""
    body = response.body
    if response.status_code < 400 or not isinstance(body, dict) or set(body) != {"Code", "Message"}:
        return response
    if body["Code"] == "MethodNotAllowedError":
        # A path served, a method not (TRACE, DELETE /health): 405 with Chalice's `Allow`.
        # On AWS such a request never reaches the app: API Gateway answers a method a
        # resource lacks as an unknown path (MISSING_AUTHENTICATION_TOKEN, turned into our
        # JSON 404 by template.yaml's GatewayResponses); a REST API cannot tell the two apart.
        allow = (response.headers or {}).get("Allow", "")
        error = MethodNotAllowed(NO_METHOD, details={"allowed": allow.split(", ") if allow else []})
        error.headers["Allow"] = allow
        return error_response(error)
    return Response(
        body=json.dumps({"error": {"code": "bad_request", "message": str(body["Message"]), "details": {}}}),
        status_code=response.status_code,
        headers={**(response.headers or {}), **JSON_HEADERS},
    )
