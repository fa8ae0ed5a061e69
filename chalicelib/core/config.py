"""Typed settings read from the environment.

template.yaml injects these names into every function (Globals); the local stack
injects the same names. Nothing here opens a connection.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator

GIB = 1024**3


class Rate(NamedTuple):
    """At most `count` per `seconds`, written "10/minute", "5/15min", "100/day"."""

    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        match = _RATE.match(text)
        if not match:
            raise ValueError(f"{text!r} is not a rate such as '10/minute', '5/15min' or '100/day'")
        count, times, unit = match.groups()
        unit = unit.lower().rstrip("s") or "s"
        if unit not in _UNITS:
            raise ValueError(f"{text!r}: the period's unit is one of second, minute, hour, day")
        seconds = int(times or 1) * _UNITS[unit]
        if seconds <= 0:
            raise ValueError(f"{text!r}: the period must be at least one second")
        return cls(int(count), seconds)

    def __str__(self) -> str:
        for unit in ("day", "hour", "minute", "second"):
            if self.seconds % _UNITS[unit] == 0:
                n = self.seconds // _UNITS[unit]
                return f"{self.count} per {unit}" if n == 1 else f"{self.count} per {n} {unit}s"
        raise AssertionError("every period is a whole number of seconds")


_UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}
_UNITS |= {"d": 86400, "day": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-zA-Z]+)\s*$")

# Every rate limit, by name: the route decorator's limits (chalicelib/core/ratelimit.py) and the
# upload quotas. `<action>.ip` counts per client address, `<action>.user` per signed-in user,
# `<action>.<field>` per value of a body field (the email), `<action>.<role>` per user by role.
# RATE_LIMITS overrides some: "login.ip=30/minute,signup.ip=10/hour" ("*=..." sets every one).
DEFAULT_RATE_LIMITS: dict[str, str] = {
    # Classrooms and offices share one address (NAT): per-address limits leave room for a class.
    "signup.ip": "50/hour",
    "signup.email": "5/hour",  # each sign-up mails a code: no mail-bombing an address
    "confirm.ip": "60/hour",
    "confirm.email": "10/hour",  # confirmation codes are 6 digits: no guessing
    "login.ip": "100/10min",
    "login.email": "10/15min",  # password guessing against one account
    "forgot.ip": "20/hour",
    "forgot.email": "5/hour",  # each request mails a code
    "reset.ip": "30/hour",
    "reset.email": "10/hour",  # reset codes are 6 digits
    "public.ip": "600/minute",  # every other unauthenticated route (directory, docs, health, playlists)
    "invites.user": "100/day",
    # Uploads started per user per day (POST /uploads), by platform role.
    "uploads.student": "20/day",
    "uploads.tutor": "200/day",
    "uploads.admin": "1000/day",
}

# Bytes of unfinished uploads (state UPLOADING) one user may have, by platform role: room for
# one upload of MAX_UPLOAD_BYTES for a student, several lectures at once for a tutor.
# UPLOAD_BYTES_IN_FLIGHT overrides some: "student=5368709120,tutor=..." ("*=..." sets every one).
DEFAULT_UPLOAD_BYTES_IN_FLIGHT: dict[str, int] = {"student": 10 * GIB, "tutor": 100 * GIB, "admin": 500 * GIB}


def _overrides(value: object, defaults: Mapping[str, object]) -> object:
    """ "name=value,..." over `defaults`; "*=value" for every name not given by name."""
    if not isinstance(value, str):
        return value
    given = dict(item.split("=", 1) for item in (i.strip() for i in value.split(",")) if item)
    given = {k.strip(): v.strip() for k, v in given.items()}
    every = given.pop("*", None)
    merged = {name: every if every is not None else default for name, default in defaults.items()}
    return merged | given


class Settings(BaseModel):
    """Each field reads the environment variable named by its alias (`from_env`).

    A plain pydantic model rather than pydantic-settings' BaseSettings: the same
    validation of exact upper-case names, ~50 ms less on every cold start.
    """

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    aws_region: str = Field("us-east-1", validation_alias="AWS_REGION")
    # Set locally (the emulator); unset on AWS, where boto3 uses the real endpoints.
    aws_endpoint_url: str | None = Field(None, validation_alias="AWS_ENDPOINT_URL")

    users_table_name: str = Field("users", validation_alias="USERS_TABLE_NAME")
    orgs_table_name: str = Field("orgs", validation_alias="ORGS_TABLE_NAME")
    connections_table_name: str = Field("connections", validation_alias="CONNECTIONS_TABLE_NAME")
    uploads_table_name: str = Field("uploads", validation_alias="UPLOADS_TABLE_NAME")
    videos_table_name: str = Field("videos", validation_alias="VIDEOS_TABLE_NAME")
    courses_table_name: str = Field("courses", validation_alias="COURSES_TABLE_NAME")
    rate_limits_table_name: str = Field("rate-limits", validation_alias="RATE_LIMITS_TABLE_NAME")
    video_pipeline_state_machine_arn: str = Field("", validation_alias="VIDEO_PIPELINE_STATE_MACHINE_ARN")
    playback_secret_arn: str = Field("", validation_alias="PLAYBACK_SECRET_ARN")

    uploads_bucket_name: str = Field("uploads", validation_alias="UPLOADS_BUCKET_NAME")
    media_bucket_name: str = Field("media", validation_alias="MEDIA_BUCKET_NAME")
    archives_bucket_name: str = Field("archives", validation_alias="ARCHIVES_BUCKET_NAME")

    user_pool_id: str = Field("", validation_alias="COGNITO_USER_POOL_ID")
    user_pool_client_id: str = Field("", validation_alias="COGNITO_USER_POOL_CLIENT_ID")
    # Locally there is no mail: sign-ups are confirmed at once and codes are logged.
    auto_confirm_signups: bool = Field(False, validation_alias="AUTO_CONFIRM_SIGNUPS")

    # The websocket management API (`@connections`). Empty on AWS: Chalice derives it
    # from the incoming event; locally it points at the gateway in infra/local.
    websocket_management_url: str = Field("", validation_alias="WEBSOCKET_MANAGEMENT_URL")
    websocket_url: str = Field("", validation_alias="WEBSOCKET_URL")
    # Open websockets allowed at once, per signed-in user and per source IP; the next
    # $connect is refused with 429 too_many_connections (chalicelib/realtime/service.py).
    max_connections_per_user: int = Field(10, ge=1, validation_alias="MAX_CONNECTIONS_PER_USER")
    max_connections_per_ip: int = Field(50, ge=1, validation_alias="MAX_CONNECTIONS_PER_IP")
    # The API's public base URL (https://api.example.com/v1) for the absolute links it signs
    # (chalicelib/video/api.py): template.yaml sets it on AWS, the local stack locally.
    # Never derived from a request's Host or X-Forwarded-Proto, which the caller controls.
    public_api_url: str = Field("", validation_alias="PUBLIC_API_URL")

    ffmpeg_binary: str = Field("ffmpeg", validation_alias="FFMPEG_BINARY")
    ffprobe_binary: str = Field("ffprobe", validation_alias="FFPROBE_BINARY")

    max_json_body_bytes: int = Field(64 * 1024, validation_alias="MAX_JSON_BODY_BYTES")
    # Arrays and objects nested deeper than this in a body or websocket frame: 400 json_too_deep.
    max_json_depth: int = Field(32, validation_alias="MAX_JSON_DEPTH")
    avatar_max_bytes: int = Field(5 * 1024 * 1024, validation_alias="AVATAR_MAX_BYTES")
    presigned_url_ttl_seconds: int = Field(900, validation_alias="PRESIGNED_URL_TTL_SECONDS")
    media_url_ttl_seconds: int = Field(3600, validation_alias="MEDIA_URL_TTL_SECONDS")
    invite_ttl_seconds: int = Field(7 * 24 * 3600, validation_alias="INVITE_TTL_SECONDS")

    # Video uploads (POST /uploads). Browsers and the CLI PUT straight to S3 with these.
    max_upload_bytes: int = Field(10 * 1024**3, validation_alias="MAX_UPLOAD_BYTES")
    # Comma-separated in the environment; a tuple here.
    allowed_video_content_types: tuple[str, ...] = Field(
        ("video/mp4", "video/quicktime", "video/webm", "video/x-matroska"),
        validation_alias="ALLOWED_VIDEO_CONTENT_TYPES",
    )
    upload_url_ttl_seconds: int = Field(3600, validation_alias="UPLOAD_URL_TTL_SECONDS")
    # An unfinished upload's record expires with its parts (the bucket aborts them after 2 days).
    upload_record_ttl_seconds: int = Field(2 * 24 * 3600, validation_alias="UPLOAD_RECORD_TTL_SECONDS")
    # Where POST /uploads/{id}/complete re-announces a verified original (see chalicelib/uploads/service.py).
    video_uploads_queue_url: str = Field("", validation_alias="VIDEO_UPLOADS_QUEUE_URL")

    # Rate limits and upload quotas by name (see DEFAULT_RATE_LIMITS above).
    rate_limits: dict[str, Rate] = Field(
        default_factory=lambda: {k: Rate.parse(v) for k, v in DEFAULT_RATE_LIMITS.items()},
        validation_alias="RATE_LIMITS",
    )
    upload_bytes_in_flight: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_UPLOAD_BYTES_IN_FLIGHT), validation_alias="UPLOAD_BYTES_IN_FLIGHT"
    )

    @field_validator("rate_limits", mode="before")
    @classmethod
    def _parse_rates(cls, value: object) -> object:
        value = _overrides(value, DEFAULT_RATE_LIMITS)
        if isinstance(value, Mapping):
            return {k: Rate.parse(v) if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("upload_bytes_in_flight", mode="before")
    @classmethod
    def _parse_quotas(cls, value: object) -> object:
        return _overrides(value, DEFAULT_UPLOAD_BYTES_IN_FLIGHT)

    def rate(self, name: str) -> Rate:
        """The rate limit `name`; a name missing from DEFAULT_RATE_LIMITS is a programming error."""
        try:
            return self.rate_limits[name]
        except KeyError:
            raise LookupError(f"no rate limit {name!r}: add it to DEFAULT_RATE_LIMITS") from None

    @field_validator("allowed_video_content_types", mode="before")
    @classmethod
    def _split_types(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(t.strip().lower() for t in value.split(",") if t.strip())
        return value

    def table_names(self) -> list[str]:
        return [getattr(self, f) for f in type(self).model_fields if f.endswith("_table_name")]

    def bucket_names(self) -> list[str]:
        return [getattr(self, f) for f in type(self).model_fields if f.endswith("_bucket_name")]

    def state_machine_arns(self) -> list[str]:
        return [v for f in type(self).model_fields if f.endswith("_state_machine_arn") and (v := getattr(self, f))]

    @property
    def jwks_url(self) -> str:
        base = self.aws_endpoint_url or f"https://cognito-idp.{self.aws_region}.amazonaws.com"
        return f"{base.rstrip('/')}/{self.user_pool_id}/.well-known/jwks.json"

    @property
    def token_issuer(self) -> str:
        # The emulator signs with the same issuer AWS uses.
        return f"https://cognito-idp.{self.aws_region}.amazonaws.com/{self.user_pool_id}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        return cls.model_validate(dict(os.environ if environ is None else environ))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
