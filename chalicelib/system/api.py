"""Platform routes: health, the OpenAPI document and the API docs page."""

from __future__ import annotations

import json

from chalice import Blueprint, Response

from chalicelib.core.config import get_settings
from chalicelib.core.errors import NotFound
from chalicelib.core.routing import JSON_HEADERS, Ctx, route
from chalicelib.core.schemas import HealthOut
from chalicelib.system import health

bp = Blueprint(__name__)

# Swagger UI's files, served from the openapi-ui-bundles package (no CDN).
DOCS_ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "application/javascript; charset=utf-8",
    "swagger-ui-standalone-preset.js": "application/javascript; charset=utf-8",
}

DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Lectern API</title>
  <link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="docs/swagger-ui-bundle.js"></script>
  <script>
    SwaggerUIBundle({url: "openapi.json", dom_id: "#swagger-ui", deepLinking: true});
  </script>
</body>
</html>
"""


@route(bp, "GET", "/health", auth=False, also=(503,))
def get_health(ctx: Ctx) -> HealthOut:
    """Health of the API and every component it depends on (503 when degraded)."""
    report = health.check(get_settings())
    status = 200 if report.status == "ok" else 503
    return Response(body=report.model_dump_json(), status_code=status, headers=dict(JSON_HEADERS))


@route(bp, "GET", "/openapi.json", auth=False, produces="application/json")
def get_openapi(ctx: Ctx) -> None:
    """This API's OpenAPI 3.1 document."""
    from chalicelib.core.openapi import document

    return Response(body=json.dumps(document()), status_code=200, headers=dict(JSON_HEADERS))


@route(bp, "GET", "/docs", auth=False, produces="text/html")
def get_docs(ctx: Ctx) -> None:
    """Interactive API documentation (Swagger UI)."""
    return Response(body=DOCS_PAGE, status_code=200, headers={"Content-Type": "text/html; charset=utf-8"})


@route(bp, "GET", "/docs/{asset}", auth=False, produces="text/plain")
def get_docs_asset(ctx: Ctx, asset: str) -> None:
    """A static file of the docs page."""
    if asset not in DOCS_ASSETS:
        raise NotFound("No such documentation file.", details={"asset": asset})
    from openapi_ui_bundles import swagger_ui

    body = (swagger_ui.static_path / asset).read_text(encoding="utf-8")
    return Response(
        body=body,
        status_code=200,
        headers={"Content-Type": DOCS_ASSETS[asset], "Cache-Control": "public, max-age=86400"},
    )
