"""Shapes shared by every route: the error body and platform health."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

# Cognito `sub`s are UUIDs (any version).
UserId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
# Org ids are uuid4 strings as produced by str(uuid.uuid4()); uploads and (next) courses and
# demos belong to one.
OrgId = Annotated[
    str, StringConstraints(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
]
# A practical subset of RFC 5322: one @, a dotted domain, no spaces or control characters.
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        min_length=3,
        max_length=254,
        pattern=r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$",
    ),
]
NO_CONTROL_CHARS = r"^[^\x00-\x1f\x7f]*$"


class StrictRequest(BaseModel):
    """Base of every request body: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any


class ErrorResponse(BaseModel):
    """Every 4xx/5xx answer: `{"error": {"code", "message", "details"}}`."""

    error: ErrorDetail


Status = Literal["ok", "degraded", "down", "not_configured"]


class ComponentHealth(BaseModel):
    name: str
    kind: Literal["api", "emulator", "table", "bucket", "state_machine", "websocket_gateway"]
    status: Status
    detail: str = ""


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    components: list[ComponentHealth]
