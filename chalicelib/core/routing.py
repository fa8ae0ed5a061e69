"""Declarative routes: parse -> authenticate -> call -> serialize, in one place.

A view declares what it takes through its signature::

    @route(bp, "POST", "/orgs", status=201)
    def create_org(ctx: Ctx, body: OrgCreate) -> OrgOut:
        return orgs.create_org(ctx.user, body)

`body` and `query` parameters annotated with pydantic models are parsed from the
request; other parameters are path parameters validated by their annotation; the
return annotation is the response model. Every route is recorded in ROUTES, from
which /openapi.json is generated, and every error leaves through `error_response`.
"""

from __future__ import annotations

import functools
import inspect
import json
import typing
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalice import Blueprint, Response
from chalice.app import Request
from pydantic import BaseModel, TypeAdapter, ValidationError

from chalicelib.core.errors import LecternError, UnsupportedMediaType, ValidationFailed
from chalicelib.core.observability import logger

JSON_HEADERS = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str
    name: str
    summary: str
    tag: str
    auth: bool
    status: int
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: Any  # a pydantic model, list[...] of one, or None for no content
    path_params: dict[str, Any] = field(default_factory=dict)
    produces: str | None = None  # a non-JSON (or free-form) body the view builds itself
    also: tuple[int, ...] = ()  # further success-like statuses answered with the response model


ROUTES: list[RouteSpec] = []


@dataclass
class Ctx:
    """What a view knows about the request beyond its parsed inputs."""

    request: Request
    request_id: str
    user: Any = None  # the signed-in user (chalicelib.core.access.Principal) when the route requires auth


def route(
    bp: Blueprint,
    method: str,
    path: str,
    *,
    status: int = 200,
    auth: bool = True,
    produces: str | None = None,
    also: tuple[int, ...] = (),
) -> Callable:
    def decorator(fn: Callable) -> Callable:
        hints = typing.get_type_hints(fn, include_extras=True)  # keep Annotated constraints (ids)
        params = [p for p in inspect.signature(fn).parameters if p != "ctx"]
        spec = RouteSpec(
            method=method,
            path=path,
            name=fn.__name__,
            summary=(inspect.getdoc(fn) or fn.__name__.replace("_", " ")).splitlines()[0],
            tag=_capability(fn.__module__),
            auth=auth,
            status=status,
            body=hints.get("body") if "body" in params else None,
            query=hints.get("query") if "query" in params else None,
            response=hints.get("return"),
            path_params={p: hints[p] for p in params if p not in ("body", "query")},
            produces=produces,
            also=also,
        )
        ROUTES.append(spec)

        @functools.wraps(fn)
        def view(**raw_params: str) -> Response:
            request = bp.current_request
            try:
                ctx = Ctx(request=request, request_id=request_id_of(request))
                if auth:
                    from chalicelib.core.auth import authenticate

                    ctx.user = authenticate(request)
                kwargs: dict[str, Any] = {
                    name: _parse_path_param(name, spec.path_params[name], value) for name, value in raw_params.items()
                }
                if spec.body is not None:
                    kwargs["body"] = parse_body(spec.body, request)
                if spec.query is not None:
                    kwargs["query"] = parse_query(spec.query, request)
                return _to_response(spec, fn(ctx, **kwargs))
            except LecternError as exc:
                return error_response(exc)
            except Exception:
                logger.exception("unhandled error", extra={"route": f"{method} {path}"})
                return error_response(LecternError("An unexpected error occurred."))

        bp.route(path, methods=[method], content_types=["*/*"], name=fn.__name__)(view)
        return fn

    return decorator


def _capability(module: str) -> str:
    """The OpenAPI tag of a route: its capability package (`chalicelib.orgs.api` -> "orgs")."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[0] == "chalicelib" else parts[-1]


def request_id_of(request: Request) -> str:
    """API Gateway's request id; where there is none (the local server), one is minted once
    and kept on the request, so the middleware, the view and the logs agree."""
    context = request.context
    if not context.get("requestId"):
        context["requestId"] = str(uuid.uuid4())
    return context["requestId"]


def error_response(exc: LecternError) -> Response:
    body = {"error": {"code": exc.code, "message": exc.message, "details": exc.details}}
    return Response(body=json.dumps(body), status_code=exc.status, headers=dict(JSON_HEADERS))


def validation_details(error: ValidationError, prefix: tuple = ()) -> list[dict[str, str]]:
    """pydantic errors as [{"field": "a.b", "message": ..., "type": ...}]."""
    return [
        {
            "field": ".".join(str(p) for p in (*prefix, *e["loc"])) or "body",
            "message": e["msg"],
            "type": e["type"],
        }
        for e in error.errors(include_url=False)
    ]


def parse_body(model: type[BaseModel], request: Request) -> BaseModel:
    raw = request.raw_body or b""
    content_type = (request.headers.get("content-type") or "application/json").split(";")[0].strip().lower()
    if raw and content_type != "application/json":
        raise UnsupportedMediaType(
            "Request bodies must be JSON.", details={"content_type": content_type, "expected": "application/json"}
        )
    if not raw:
        raise ValidationFailed("A JSON request body is required.", code="missing_body")
    return parse_json(model, raw, location="body")


def parse_json(model: type[BaseModel], raw: bytes | str, *, location: str) -> BaseModel:
    """JSON text into `model`; errors name the fields under `location` ("body", "frame")."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed(
            f"The {location} is not valid JSON.", code="invalid_json", details={"reason": str(exc)}
        ) from None
    if data is None:
        raise ValidationFailed(f"The {location} must not be null.", code="missing_body")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(f"The {location} is invalid.", details=validation_details(exc, (location,))) from None


def parse_query(model: type[BaseModel], request: Request) -> BaseModel:
    try:
        return model.model_validate(dict(request.query_params or {}))
    except ValidationError as exc:
        raise ValidationFailed("The query string is invalid.", details=validation_details(exc, ("query",))) from None


@functools.cache
def adapter(tp: Any) -> TypeAdapter:
    """TypeAdapters are built on first use: building them all at import slows cold starts."""
    return TypeAdapter(tp)


def _parse_path_param(name: str, tp: Any, value: str) -> Any:
    try:
        return adapter(tp).validate_python(value)
    except ValidationError as exc:
        raise ValidationFailed(
            f"The path parameter '{name}' is invalid.", details=validation_details(exc, (name,))
        ) from None


def _to_response(spec: RouteSpec, result: Any) -> Response:
    if isinstance(result, Response):
        return result
    if spec.response is None or result is None:
        return Response(body="", status_code=204 if spec.status in (200, 204) else spec.status)
    body = adapter(spec.response).dump_json(result, by_alias=True).decode()
    return Response(body=body, status_code=spec.status, headers=dict(JSON_HEADERS))
