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
import itertools
import json
import re
import typing
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalice import Blueprint, Response
from chalice.app import Request
from pydantic import BaseModel, TypeAdapter, ValidationError

from chalicelib.core.config import get_settings
from chalicelib.core.errors import LecternError, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from chalicelib.core.observability import logger
from chalicelib.core.ratelimit import Limit, enforce, route_limits, source_ip

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
    limits: tuple[Limit, ...] = ()  # rate limits counted once the request is parsed (core/ratelimit.py)


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
    limits: typing.Sequence[Limit] = (),
) -> Callable:
    """`limits`: `per_ip`, `per_user`, `per_key` from chalicelib.core.ratelimit, counted in order
    once the request is authenticated and parsed; an unauthenticated route is limited per IP
    (`public.ip`) unless it declares a per-IP limit of its own."""

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
            limits=route_limits(limits, auth=auth),
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
                enforce(spec.limits, source_ip=source_ip(request), user=ctx.user, body=kwargs.get("body"))
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
    # getattr: errors built without LecternError.__init__ carry no headers of their own.
    headers = {**JSON_HEADERS, **getattr(exc, "headers", {})}
    return Response(body=json.dumps(body), status_code=exc.status, headers=headers)


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
    """JSON text into `model`; errors name the fields under `location` ("body", "frame").

    The one parser of client JSON (REST bodies and websocket frames): its size and nesting
    are bounded before json.loads sees it, which recurses once per level and fails with
    RecursionError (not ValueError) on a few thousand nested brackets.
    """
    settings = get_settings()
    # surrogatepass: a lone surrogate then fails json.loads' UTF-8 decoding (invalid_json).
    text = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if len(text) > settings.max_json_body_bytes:
        raise PayloadTooLarge(f"The {location} is too large.", details={"max_bytes": settings.max_json_body_bytes})
    # Counting the opening brackets first (in C) spares the scan for nearly every body.
    if text.count(b"[") + text.count(b"{") > settings.max_json_depth and nesting_depth(text) > settings.max_json_depth:
        raise ValidationFailed(
            f"The {location} nests arrays and objects too deeply.",
            code="json_too_deep",
            details={"max_depth": settings.max_json_depth},
        )
    try:
        data = json.loads(text)
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


# A JSON string, or an unterminated one to the end of the text (json.loads never leaves a
# string it entered, so brackets inside one never nest).
_JSON_STRING = re.compile(rb'"(?:[^"\\]+|\\.)*"?', re.DOTALL)
_NOT_A_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_BRACKET_STEP = [{ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}.get(b, 0) for b in range(256)]


def nesting_depth(text: bytes) -> int:
    """How deeply JSON text nests arrays and objects, without recursion: the deepest run of
    brackets outside strings. Linear time; whether the text is valid JSON is json.loads' call."""
    brackets = _JSON_STRING.sub(b"", text).translate(None, _NOT_A_BRACKET)
    return max(itertools.accumulate(map(_BRACKET_STEP.__getitem__, brackets)), default=0)


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
