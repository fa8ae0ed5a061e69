"""Uploads: one presigned (multipart) upload of one file to the uploads bucket."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute, VersionAttribute
from pynamodb.models import Model

from chalicelib.core.dynamo import table_meta, utcnow

UPLOADING, COMPLETED, ABORTED = "UPLOADING", "COMPLETED", "ABORTED"


class Upload(Model):
    Meta = table_meta("uploads_table_name")

    upload_id = UnicodeAttribute(hash_key=True)
    owner_id = UnicodeAttribute()
    org_id = UnicodeAttribute(null=True)
    filename = UnicodeAttribute()
    size = NumberAttribute()
    content_type = UnicodeAttribute()
    purpose = UnicodeAttribute()  # course_video | post_video | demo_recording
    checksum_sha256 = UnicodeAttribute()  # base64, as the client computed it over the whole file
    key = UnicodeAttribute()
    s3_upload_id = UnicodeAttribute(null=True)  # none for a single presigned PUT
    part_size = NumberAttribute()
    part_count = NumberAttribute()
    state = UnicodeAttribute(default=UPLOADING)
    created_at = UTCDateTimeAttribute(default=utcnow)
    updated_at = UTCDateTimeAttribute(default=utcnow)
    ttl = NumberAttribute(null=True)  # abandoned uploads expire (the bucket aborts their parts too)
    version = VersionAttribute()

    @staticmethod
    def object_key(owner_id: str, upload_id: str) -> str:
        """Where the client puts the file: `raw/{owner_id}/{upload_id}`."""
        return f"raw/{owner_id}/{upload_id}"

    @staticmethod
    def parse_object_key(key: str) -> tuple[str, str] | None:
        """(owner_id, upload_id) of an object key, or None for anything else."""
        parts = key.split("/")
        if len(parts) != 3 or parts[0] != "raw" or not parts[1] or not parts[2]:
            return None
        return parts[1], parts[2]
