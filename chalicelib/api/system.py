"""Platform routes: health, OpenAPI document, API docs."""

from chalice import Blueprint

from chalicelib.api.routing import Ctx, route

bp = Blueprint(__name__)
