"""Shapes shared by every route: the error body and platform health."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel


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
