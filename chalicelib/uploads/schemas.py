"""Requests and responses of the resumable upload routes (POST/GET/DELETE /uploads...)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, GetCoreSchemaHandler, GetJsonSchemaHandler, StringConstraints
from pydantic_core import PydanticCustomError, core_schema

from chalicelib.core.config import get_settings
from chalicelib.core.roles import UploadPurpose
from chalicelib.core.schemas import AtMostSetting, OrgId, StrictRequest, one_line, whole_number

# Upload ids (= video ids) are uuid4 strings.
UploadId = Annotated[
    str, StringConstraints(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
]
UploadState = Literal["UPLOADING", "COMPLETED", "ABORTED", "REJECTED"]
# Standard base64 of a 32-byte digest: 43 characters, the last carrying 2 bits, then "=".
ChecksumSha256 = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$")]
Filename = one_line(255)


class _AllowedVideoType:
    """One of Settings.allowed_video_content_types in any case (media types are
    case-insensitive: `VIDEO/MP4` is video/mp4), lower-cased; published as the pattern of
    exactly those, read when /openapi.json is built."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler) -> Any:
        allowed = get_settings().allowed_video_content_types
        any_case = "|".join("".join(_any_case(c) for c in media_type) for media_type in allowed)
        return {**handler(schema), "pattern": f"^(?:{any_case})$", "description": "One of " + ", ".join(allowed)}

    def _check(self, value: str) -> str:
        allowed = get_settings().allowed_video_content_types
        # ASCII only: str.lower() maps a few other letters onto ASCII ones (the Kelvin sign to "k").
        if not value.isascii() or value.lower() not in allowed:
            raise PydanticCustomError(
                "video_type", "Input should be one of {allowed}, in any case", {"allowed": ", ".join(allowed)}
            )
        return value.lower()


def _any_case(char: str) -> str:
    if char.isalpha():
        return f"[{char.lower()}{char.upper()}]"
    return char if char.isdigit() else f"[{char}]"  # "[.]", "[+]": literal in every regex dialect


ContentType = Annotated[str, _AllowedVideoType()]


class UploadCreate(StrictRequest):
    filename: Filename
    size: Annotated[whole_number(gt=0), AtMostSetting("max_upload_bytes")] = Field(description="Bytes.")
    content_type: ContentType
    purpose: UploadPurpose
    checksum_sha256: ChecksumSha256 = Field(description="Base64 of the SHA-256 of the whole file.")
    org_id: OrgId | None = None


class PartUrl(BaseModel):
    part_number: int
    url: str


class ReceivedPart(BaseModel):
    part_number: int
    size: int
    etag: str


class UploadCreated(BaseModel):
    """What the client needs to send the file: either `parts` (multipart) or `single_put_url`."""

    upload_id: str
    key: str
    part_size: int
    part_count: int
    parts: list[PartUrl]
    expires_at: datetime
    single_put_url: str | None = None
    # Signed headers the single PUT must carry exactly (Content-Type, Content-Length, checksum).
    single_put_headers: dict[str, str] | None = None


class UploadOut(BaseModel):
    """An upload's state; while UPLOADING, fresh URLs for what is still missing."""

    upload_id: str
    key: str
    state: UploadState
    purpose: UploadPurpose
    filename: str
    content_type: str
    size: int
    checksum_sha256: str
    org_id: str | None
    part_size: int
    part_count: int
    received: list[ReceivedPart]
    received_bytes: int
    missing: list[PartUrl]
    expires_at: datetime | None = None
    single_put_url: str | None = None
    single_put_headers: dict[str, str] | None = None
    video_id: str | None = None  # set for course_video and post_video
    created_at: datetime
    updated_at: datetime
