"""Shapes shared by every route: the error body and platform health."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StrictInt,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError, core_schema

from chalicelib.core.config import get_settings

# Cognito `sub`s are UUIDs (any version).
UserId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
# Org ids are uuid4 strings as produced by str(uuid.uuid4()); uploads and (next) courses and
# demos belong to one.
OrgId = Annotated[
    str, StringConstraints(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
]
# A practical subset of RFC 5322 that Cognito takes as a user name (the user pool signs in by
# email): at most 128 characters; a local part of letters, digits and ._%+- (starting with a
# letter, digit or _), a dotted domain, a top-level domain of 2+ letters. Lower-cased; not
# trimmed (surrounding spaces are refused, as the pattern says).
Email = Annotated[
    str,
    StringConstraints(
        to_lower=True,
        min_length=6,
        max_length=128,
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$",
    ),
]
# C0 and C1 control characters and DEL: never in names or one-line text.
CONTROL_CHARS = r"\x00-\x1f\x7f-\x9f"
NO_CONTROL_CHARS = rf"^[^{CONTROL_CHARS}]*$"
# Unicode White_Space that is not a control character (space, no-break spaces, ...).
SPACE_CHARS = r" \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# What pydantic's strip_whitespace removes (Rust's char::is_whitespace: Unicode White_Space).
STRIPPED_CHARS = r"\t\n\x0b\x0c\r\x85" + SPACE_CHARS


def one_line(max_length: int) -> Any:
    """A name or one-line text: whitespace at either end trimmed, then 1 to `max_length`
    characters and no control characters (C0, DEL, C1).

    The published schema says exactly that of the text as sent, in one pattern (trimming
    makes `maxLength` of the sent text meaningless): a first and last character that is
    neither whitespace nor control, at most `max_length` from one to the other, any
    whitespace around them.
    """
    edge = f"[^{CONTROL_CHARS}{SPACE_CHARS}]"
    sent = f"^[{STRIPPED_CHARS}]*{edge}(?:[^{CONTROL_CHARS}]{{0,{max_length - 2}}}{edge})?[{STRIPPED_CHARS}]*$"
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length, pattern=NO_CONTROL_CHARS),
        WithJsonSchema(
            {"type": "string", "pattern": sent, "description": f"Trimmed, then 1 to {max_length} characters."}
        ),
    ]


def _whole_number(value: Any) -> Any:
    # JSON Schema's "integer" is any number without a fractional part, 3.0 included.
    return int(value) if isinstance(value, float) and value.is_integer() else value


def whole_number(**constraints: Any) -> Any:
    """A JSON integer, with `Field`'s numeric constraints (gt, ge, le, ...): 3 or 3.0, never
    "3", true or 3.5. (The constraints go inside: outside, pydantic publishes them as-is.)"""
    return Annotated[StrictInt, Field(**constraints), BeforeValidator(_whole_number)]


@dataclass(frozen=True)
class AtMostSetting:
    """`Annotated[whole_number(gt=0), AtMostSetting("max_upload_bytes")]`: at most that Settings
    value, checked on each validation and published as the schema's `maximum` (read when
    /openapi.json is built, so it is the deployment's own)."""

    setting: str

    def limit(self) -> int:
        return getattr(get_settings(), self.setting)

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler) -> Any:
        return {**handler(schema), "maximum": self.limit()}

    def _check(self, value: int) -> int:
        limit = self.limit()
        if value > limit:
            raise PydanticCustomError("less_than_equal", "Input should be less than or equal to {le}", {"le": limit})
        return value


def unchanged() -> Any:
    """The default of a PATCH field that is not Optional: absent means "leave it", an explicit
    null is refused; the schema shows no default (a null one would contradict its type)."""
    return Field(None, json_schema_extra=_no_default)


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


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
