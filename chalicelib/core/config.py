"""Typed settings read from the environment.

template.yaml injects these names into every function (Globals); the local stack
injects the same names. Nothing here opens a connection.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field, field_validator


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
    # The API's public base URL (https://api.example.com/v1) for links it signs; empty: taken
    # from each request (Host + stage), see chalicelib/video/api.py.
    public_api_url: str = Field("", validation_alias="PUBLIC_API_URL")

    ffmpeg_binary: str = Field("ffmpeg", validation_alias="FFMPEG_BINARY")
    ffprobe_binary: str = Field("ffprobe", validation_alias="FFPROBE_BINARY")

    max_json_body_bytes: int = Field(64 * 1024, validation_alias="MAX_JSON_BODY_BYTES")
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
