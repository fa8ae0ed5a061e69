"""The OpenAPI 3.1 document, generated from the routes' own pydantic models."""

from __future__ import annotations

import typing
from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chalicelib.core.routing import ROUTES, RouteSpec, adapter
from chalicelib.core.schemas import ErrorResponse

REF = "#/components/schemas/{model}"
BEARER = [{"bearer": []}]


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    models = _models()
    keyed, defs = models_json_schema(models, ref_template=REF)
    paths: dict[str, dict] = {}
    for spec in ROUTES:
        operation = _operation(spec, keyed)
        paths.setdefault(spec.path, {})[spec.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Lectern API",
            "version": "1.0.0",
            "description": "Courses, video, demos, session recording, tutors and organizations.",
        },
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def _models() -> list[tuple[type[BaseModel], str]]:
    seen: dict[tuple[type[BaseModel], str], None] = {(ErrorResponse, "serialization"): None}
    for spec in ROUTES:
        if spec.body:
            seen[(spec.body, "validation")] = None
        model = _response_model(spec)
        if model:
            seen[(model, "serialization")] = None
    return list(seen)


def _response_model(spec: RouteSpec) -> type[BaseModel] | None:
    response = spec.response
    if typing.get_origin(response) is list:
        response = typing.get_args(response)[0]
    return response if isinstance(response, type) and issubclass(response, BaseModel) else None


def _operation(spec: RouteSpec, keyed: dict) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": spec.name,
        "summary": spec.summary,
        "tags": [spec.tag],
        "parameters": _parameters(spec),
        "responses": {"default": _json("An error.", keyed[(ErrorResponse, "serialization")])},
    }
    if spec.auth:
        operation["security"] = BEARER
    if spec.limits:
        operation["responses"]["429"] = {
            **_json(
                "Too many requests: a rate limit of "
                + ", ".join(sorted({limit.action for limit in spec.limits}))
                + " was reached (details.limit names it).",
                keyed[(ErrorResponse, "serialization")],
            ),
            "headers": {
                "Retry-After": {
                    "description": "Seconds until the limit's window resets.",
                    "schema": {"type": "integer", "minimum": 1},
                }
            },
        }
    if spec.body:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": keyed[(spec.body, "validation")]}},
        }
    model = _response_model(spec)
    if spec.produces:
        schema = {"type": "object"} if spec.produces == "application/json" else {"type": "string"}
        operation["responses"][str(spec.status)] = {
            "description": "Success.",
            "content": {spec.produces: {"schema": schema}},
        }
    elif model is None:
        operation["responses"][str(204 if spec.status == 200 else spec.status)] = {"description": "Done."}
    else:
        schema = keyed[(model, "serialization")]
        if typing.get_origin(spec.response) is list:
            schema = {"type": "array", "items": schema}
        for status in (spec.status, *spec.also):
            operation["responses"][str(status)] = _json("Success." if status < 400 else "Degraded.", schema)
    return operation


def _parameters(spec: RouteSpec) -> list[dict[str, Any]]:
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": adapter(tp).json_schema()}
        for name, tp in spec.path_params.items()
    ]
    if spec.query:
        schema = spec.query.model_json_schema(ref_template=REF)
        required = set(schema.get("required", []))
        for name, field_schema in schema.get("properties", {}).items():
            parameters.append({"name": name, "in": "query", "required": name in required, "schema": field_schema})
    return parameters


def _json(description: str, schema: dict) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}
