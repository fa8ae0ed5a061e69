"""Requests and responses of the resumable upload routes (POST/GET/DELETE /uploads...)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictInt, StringConstraints

from chalicelib.core.roles import UploadPurpose
from chalicelib.core.schemas import NO_CONTROL_CHARS, OrgId, StrictRequest

# Upload ids (= video ids) are uuid4 strings.
UploadId = Annotated[
    str, StringConstraints(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
]
UploadState = Literal["UPLOADING", "COMPLETED", "ABORTED", "REJECTED"]
# Standard base64 of a 32-byte digest: 43 characters, the last carrying 2 bits, then "=".
ChecksumSha256 = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$")]
Filename = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255, pattern=NO_CONTROL_CHARS)
]
# A media type as sent; whether it is allowed is configuration (Settings), checked by the service.
ContentType = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        max_length=127,
        pattern=r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$",
    ),
]


class UploadCreate(StrictRequest):
    filename: Filename
    size: StrictInt = Field(gt=0, description="Bytes; at most MAX_UPLOAD_BYTES.")
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
