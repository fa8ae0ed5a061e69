"""Resumable uploads of video originals straight to S3 (presigned multipart or single PUT).

Flow
----
1. `create_upload` (POST /uploads): checks the limits (Settings), the org membership, takes
   the upload's size from the owner's bytes in flight (a quota by role: 409
   `upload_quota_exceeded` when full; the route also counts uploads per user and day), plans
   the parts, starts an S3 multipart upload (or, for a file no larger than one part, signs
   one PUT) and writes the Upload item — plus, for course and post videos, the Video item
   in UPLOADING — in one transaction. The object key is `Upload.object_key(owner, id)`.
2. The client PUTs the parts to the presigned URLs, in parallel, in any order.
3. `get_upload` (GET /uploads/{id}) lists what S3 holds (ListParts, every page) and signs
   fresh URLs for the parts still missing or of the wrong size: a reload resumes there.
4. `complete_upload` (POST /uploads/{id}/complete): the server, not the client, lists the
   parts (S3 is the authority on ETags and sizes, and clients need not keep them); every
   part 1..N must be there with its planned size, or 409 `upload_incomplete` and nothing
   changes (the client sends what is missing and completes again). Then S3 joins the parts
   and the server streams the object to compare its SHA-256 with the one declared at
   creation. A mismatch is final: 422 `checksum_mismatch`, the object is deleted, the
   Upload becomes REJECTED and its Video FAILED. Completing again answers the same result.
5. `abort_upload` (DELETE /uploads/{id}): aborts the multipart upload, deletes any object,
   Upload ABORTED. The Video is kept as FAILED ("upload aborted") rather than deleted, so
   the owner's list shows what happened and a late S3 event finds a final state; deleting
   videos is the videos API's business.

The pipeline contract (functions/start_video_pipeline)
------------------------------------------------------
S3 fires ObjectCreated when a multipart upload is *joined* (and on a single PUT), i.e.
before the checksum is verified. `Upload.state` becomes COMPLETED only after verification,
so the start function must ignore any `raw/` object whose Upload is not COMPLETED. Because
the genuine S3 event usually arrives before that (always for single PUTs), the completion
re-announces the verified object: it sends an S3-shaped ObjectCreated record (configurationId
`lectern-upload-verified`) to the same queue (VIDEO_UPLOADS_QUEUE_URL). The start function
therefore treats every event alike — look up the Upload, start only when COMPLETED — and
duplicates are harmless since executions are named after the upload.

Checksum cost: verification reads the whole object once (streamed, constant memory). That
is cheap locally; on AWS it is bounded by the API's 29 s timeout, roughly 2-3 GB. Larger
files need S3's own checksums (per-part `x-amz-checksum-sha256` with ChecksumAlgorithm=SHA256,
composite) or verification moved into the pipeline's first task.
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import PurePath
from urllib.parse import quote_plus

from chalicelib.adapters import queues, storage
from chalicelib.core import access, ratelimit
from chalicelib.core.access import Principal
from chalicelib.core.config import get_settings
from chalicelib.core.dynamo import transaction, update_if, utcnow
from chalicelib.core.errors import Conflict, Gone, LecternError, MediaRejected, NotFound, ValidationFailed
from chalicelib.core.observability import count, logger
from chalicelib.core.roles import ORG_MEMBER, VIDEO_PURPOSES
from chalicelib.uploads.models import ABORTED, COMPLETED, UPLOADING, Upload
from chalicelib.uploads.schemas import PartUrl, ReceivedPart, UploadCreate, UploadCreated, UploadOut
from chalicelib.video import service as videos

# Final: the declared checksum did not match what arrived (the object was deleted).
REJECTED = "REJECTED"

MIB = 1024 * 1024
# S3 wants >= 5 MiB for every part but the last; 8 MiB keeps browsers' requests few but
# each still retryable, and is what the AWS CLI uses.
MIN_PART_BYTES = 8 * MIB
MAX_PARTS = 10_000  # S3's limit per multipart upload
VERIFIED_EVENT_ID = "lectern-upload-verified"
# The bytes of a user's unfinished uploads (state UPLOADING), bounded by role (Settings
# upload_bytes_in_flight): one lease per upload, taken at creation, given back when it leaves
# UPLOADING, or dropped when its record expires (an abandoned upload).
BYTES_IN_FLIGHT = "uploads.bytes_in_flight"


def plan_parts(size: int) -> tuple[int, int]:
    """(part_size, part_count): at least MIN_PART_BYTES, whole MiB, at most MAX_PARTS parts."""
    part_size = max(MIN_PART_BYTES, math.ceil(size / MAX_PARTS / MIB) * MIB)
    return part_size, max(1, math.ceil(size / part_size))


def expected_part_size(upload: Upload, part_number: int) -> int:
    part_size, count_ = int(upload.part_size), int(upload.part_count)
    return part_size if part_number < count_ else int(upload.size) - part_size * (count_ - 1)


# ------------------------------------------------------------------ create


def create_upload(user: Principal, body: UploadCreate) -> UploadCreated:
    settings = get_settings()
    _check_limits(body)
    if body.org_id is not None:
        access.require("orgs.role", user, body.org_id, ORG_MEMBER)

    upload_id = str(uuid.uuid4())
    key = Upload.object_key(user.user_id, upload_id)
    bucket = settings.uploads_bucket_name
    part_size, part_count = plan_parts(body.size)
    single = part_count == 1
    expires_at = int(time.time()) + settings.upload_record_ttl_seconds
    _reserve_bytes(user, upload_id, body.size, expires_at)
    s3_upload_id = None
    if not single:
        try:
            s3_upload_id = storage.create_multipart_upload(
                bucket, key, content_type=body.content_type, metadata={"lectern-upload-id": upload_id}
            )
        except LecternError:
            _release_bytes(user.user_id, upload_id)
            raise
    now = utcnow()
    upload = Upload(
        upload_id,
        owner_id=user.user_id,
        org_id=body.org_id,
        filename=body.filename,
        size=body.size,
        content_type=body.content_type,
        purpose=body.purpose,
        checksum_sha256=body.checksum_sha256,
        key=key,
        s3_upload_id=s3_upload_id,
        part_size=part_size,
        part_count=part_count,
        state=UPLOADING,
        created_at=now,
        updated_at=now,
        ttl=expires_at,
    )
    try:
        # The Upload and its Video exist together or not at all.
        with transaction(Conflict("The upload could not be created; retry.", code="concurrent_change")) as tx:
            tx.save(upload, condition=Upload.upload_id.does_not_exist())
            if body.purpose in VIDEO_PURPOSES:
                videos.add_uploading_video(
                    tx,
                    video_id=upload_id,
                    owner_id=user.user_id,
                    org_id=body.org_id,
                    title=PurePath(body.filename).stem,
                    source_bucket=bucket,
                    source_key=key,
                )
    except LecternError:
        if s3_upload_id:  # do not leave parts nobody can complete
            _abort_quietly(bucket, key, s3_upload_id)
        _release_bytes(user.user_id, upload_id)
        raise
    logger.info(
        "upload created",
        extra={"upload_id": upload_id, "size": body.size, "parts": part_count, "purpose": body.purpose},
    )
    count("UploadCreated")

    ttl = settings.upload_url_ttl_seconds
    created = UploadCreated(
        upload_id=upload_id,
        key=key,
        part_size=part_size,
        part_count=part_count,
        parts=[] if single else _part_urls(upload, range(1, part_count + 1)),
        expires_at=now + timedelta(seconds=ttl),
    )
    if single:
        put = _single_put(upload)
        created.single_put_url, created.single_put_headers = put.url, put.headers
    return created


def _reserve_bytes(user: Principal, upload_id: str, size: int, expires_at: int) -> None:
    settings = get_settings()
    quotas = settings.upload_bytes_in_flight
    maximum = quotas.get(user.role, quotas["student"])
    try:
        ratelimit.acquire(BYTES_IN_FLIGHT, user.user_id, upload_id, size, maximum, expires_at=expires_at)
    except ratelimit.QuotaExceeded as exc:
        used = exc.details["used"]
        raise Conflict(
            f"Too many bytes in unfinished uploads ({BYTES_IN_FLIGHT}): your uploads in progress hold "
            f"{used} bytes and a {user.role} may have at most {maximum} in flight, so {size} more do not fit. "
            "Complete or abort an upload first.",
            code="upload_quota_exceeded",
            details={"limit": BYTES_IN_FLIGHT, "max_bytes": maximum, "in_flight_bytes": used, "requested_bytes": size},
        ) from None


def _release_bytes(owner_id: str, upload_id: str) -> None:
    """Give back an upload's share of its owner's bytes in flight (once; later calls do nothing)."""
    ratelimit.release(BYTES_IN_FLIGHT, owner_id, upload_id)


def _check_limits(body: UploadCreate) -> None:
    settings = get_settings()
    problems = []
    if body.size > settings.max_upload_bytes:
        problems.append(
            {"field": "body.size", "message": f"at most {settings.max_upload_bytes} bytes", "type": "too_large"}
        )
    if body.content_type not in settings.allowed_video_content_types:
        problems.append(
            {
                "field": "body.content_type",
                "message": "one of " + ", ".join(settings.allowed_video_content_types),
                "type": "not_allowed",
            }
        )
    if problems:
        raise ValidationFailed("The body is invalid.", details=problems)


# ------------------------------------------------------------------ state and resume


def get_upload(user: Principal, upload_id: str) -> UploadOut:
    upload = _owned(user, upload_id)
    if upload.state != UPLOADING:
        return _out(upload)
    settings = get_settings()
    if upload.s3_upload_id is None:
        received = _received_single(upload)
        complete = bool(received) and received[0].size == int(upload.size)
        out = _out(upload, received=received)
        if not complete:
            put = _single_put(upload)
            out.single_put_url, out.single_put_headers = put.url, put.headers
        out.expires_at = utcnow() + timedelta(seconds=settings.upload_url_ttl_seconds)
        return out
    try:
        parts = storage.list_parts(settings.uploads_bucket_name, upload.key, upload.s3_upload_id)
    except NotFound:
        # S3 already joined the parts (a completion that did not finish): complete again.
        return _out(upload, received=[], received_bytes=int(upload.size))
    received = [ReceivedPart(part_number=p.part_number, size=p.size, etag=p.etag) for p in parts]
    good = {p.part_number for p in parts if p.size == expected_part_size(upload, p.part_number)}
    missing = [n for n in range(1, int(upload.part_count) + 1) if n not in good]
    out = _out(upload, received=received, missing=_part_urls(upload, missing))
    out.expires_at = utcnow() + timedelta(seconds=settings.upload_url_ttl_seconds)
    return out


# ------------------------------------------------------------------ complete


def complete_upload(user: Principal, upload_id: str) -> UploadOut:
    upload = _owned(user, upload_id)
    if upload.state != UPLOADING:
        return _answer_final(upload)
    settings = get_settings()
    bucket = settings.uploads_bucket_name
    if upload.s3_upload_id is not None:
        _join_parts(upload, bucket)
    info = _uploaded_object(upload, bucket)

    actual = storage.sha256_base64(bucket, upload.key)
    if actual != upload.checksum_sha256:
        logger.warning("upload checksum mismatch", extra={"upload_id": upload_id})
        count("UploadRejected")
        storage.delete(bucket, [upload.key])
        if _transition(upload, REJECTED):
            _fail_video(upload, "The uploaded file does not match its checksum; upload it again.")
        return _answer_final(_reload(upload))

    if _transition(upload, COMPLETED, finished=True):
        logger.info("upload completed", extra={"upload_id": upload_id, "size": info.size})
        count("UploadCompleted")
    upload = _reload(upload)
    return _answer_final(upload)


def _join_parts(upload: Upload, bucket: str) -> None:
    """Check every planned part is there with its planned size, then let S3 join them."""
    try:
        parts = storage.list_parts(bucket, upload.key, upload.s3_upload_id)
    except NotFound:
        return  # already joined by an earlier (or concurrent) completion; the object decides
    by_number = {p.part_number: p for p in parts}
    planned = range(1, int(upload.part_count) + 1)
    missing = [n for n in planned if n not in by_number]
    wrong = [
        {"part_number": p.part_number, "size": p.size, "expected": expected_part_size(upload, p.part_number)}
        for p in parts
        if p.part_number in planned and p.size != expected_part_size(upload, p.part_number)
    ]
    received_bytes = sum(p.size for p in parts if p.part_number in planned)
    if missing or wrong:
        raise Conflict(
            "The parts received do not add up to the declared size; send the missing parts and complete again.",
            code="upload_incomplete",
            details={
                "missing_parts": missing,
                "wrong_size_parts": wrong,
                "received_bytes": received_bytes,
                "expected_bytes": int(upload.size),
            },
        )
    try:
        storage.complete_multipart_upload(bucket, upload.key, upload.s3_upload_id, [by_number[n] for n in planned])
    except NotFound:
        pass  # a concurrent completion joined them first


def _uploaded_object(upload: Upload, bucket: str) -> storage.ObjectInfo:
    try:
        info = storage.head(bucket, upload.key)
    except NotFound:
        raise Conflict(
            "The file has not been uploaded yet.",
            code="upload_incomplete",
            details={"received_bytes": 0, "expected_bytes": int(upload.size)},
        ) from None
    if info.size != int(upload.size):
        # Only a single PUT can get here (parts were checked): the client may PUT again.
        raise Conflict(
            "The uploaded file's size differs from the declared size; upload it again.",
            code="upload_incomplete",
            details={"received_bytes": info.size, "expected_bytes": int(upload.size)},
        )
    if info.content_type.lower() != upload.content_type:
        # AWS refuses this at the PUT (the type is signed); the emulator does not.
        raise Conflict(
            "The uploaded file's content type differs from the declared one; upload it again.",
            code="content_type_mismatch",
            details={"content_type": info.content_type, "expected": upload.content_type},
        )
    return info


def _answer_final(upload: Upload) -> UploadOut:
    """What completing answers once the upload is no longer UPLOADING (the same every time)."""
    if upload.state == COMPLETED:
        _announce(upload)
        return _out(upload)
    if upload.state == REJECTED:
        raise MediaRejected(
            "The uploaded file does not match the declared SHA-256 checksum; it was discarded. Start a new upload.",
            code="checksum_mismatch",
            details={"upload_id": upload.upload_id, "expected_checksum_sha256": upload.checksum_sha256},
        )
    raise Gone("The upload was aborted.", code="upload_aborted", details={"upload_id": upload.upload_id})


def _announce(upload: Upload) -> None:
    """Tell the pipeline's start function that this original is verified (see the module doc).

    Sent on every answer in COMPLETED, so a completion retried after a failed send still
    reaches the pipeline; duplicates start nothing new.
    """
    settings = get_settings()
    if not settings.video_uploads_queue_url:
        logger.warning("VIDEO_UPLOADS_QUEUE_URL is not set; verified upload not announced")
        return
    bucket = settings.uploads_bucket_name
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": settings.aws_region,
        "eventTime": upload.updated_at.isoformat().replace("+00:00", "Z"),
        "eventName": "ObjectCreated:Put" if upload.s3_upload_id is None else "ObjectCreated:CompleteMultipartUpload",
        "userIdentity": {"principalId": "lectern"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": upload.upload_id, "x-amz-id-2": upload.upload_id},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": VERIFIED_EVENT_ID,
            "bucket": {"name": bucket, "ownerIdentity": {"principalId": "lectern"}, "arn": f"arn:aws:s3:::{bucket}"},
            # Encoded as S3 encodes keys, so consumers decode every event the same way.
            "object": {"key": quote_plus(upload.key), "size": int(upload.size), "eTag": "", "sequencer": "0"},
        },
    }
    queues.send_json(settings.video_uploads_queue_url, {"Records": [record]})


# ------------------------------------------------------------------ for other capabilities


@dataclass(frozen=True)
class UploadedFile:
    """What another capability may know of an upload: the file, whose it is, and whether
    its checksum was verified (only a verified file may be processed)."""

    upload_id: str
    owner_id: str
    org_id: str | None
    filename: str
    purpose: str
    bucket: str
    key: str
    size: int
    verified: bool


def uploaded_file(upload_id: str) -> UploadedFile | None:
    """The upload `upload_id` (read consistently), or None."""
    try:
        upload = Upload.get(upload_id, consistent_read=True)
    except Upload.DoesNotExist:
        return None
    return UploadedFile(
        upload_id=upload.upload_id,
        owner_id=upload.owner_id,
        org_id=upload.org_id,
        filename=upload.filename,
        purpose=upload.purpose,
        bucket=get_settings().uploads_bucket_name,
        key=upload.key,
        size=int(upload.size),
        verified=upload.state == COMPLETED,
    )


def uploaded_file_at(bucket: str, key: str) -> UploadedFile | None:
    """The upload an object of the uploads bucket is (from an S3 event), or None."""
    parsed = Upload.parse_object_key(key)
    if bucket != get_settings().uploads_bucket_name or parsed is None:
        logger.info("not an upload object; ignored", extra={"bucket": bucket, "key": key})
        return None
    owner_id, upload_id = parsed
    upload = uploaded_file(upload_id)
    if upload is None or upload.owner_id != owner_id or upload.key != key:
        logger.warning("object of no known upload; ignored", extra={"key": key})
        return None
    return upload


# ------------------------------------------------------------------ abort


def abort_upload(user: Principal, upload_id: str) -> None:
    upload = _owned(user, upload_id)
    if upload.state in (ABORTED, REJECTED):
        return  # nothing left in S3 to drop; aborting twice is fine
    if upload.state == COMPLETED:
        raise Conflict(
            "The upload is complete; delete the video instead.",
            code="upload_completed",
            details={"upload_id": upload_id},
        )
    bucket = get_settings().uploads_bucket_name
    if upload.s3_upload_id is not None:
        _abort_quietly(bucket, upload.key, upload.s3_upload_id)
    storage.delete(bucket, [upload.key])
    if _transition(upload, ABORTED):
        _fail_video(upload, "upload aborted")
        logger.info("upload aborted", extra={"upload_id": upload_id})
        return
    upload = _reload(upload)
    if upload.state == COMPLETED:  # a completion won the race
        raise Conflict("The upload is complete; delete the video instead.", code="upload_completed")


# ------------------------------------------------------------------ helpers


def _owned(user: Principal, upload_id: str) -> Upload:
    """The caller's upload; another user's is reported exactly like a missing one."""
    try:
        upload = Upload.get(upload_id, consistent_read=True)
    except Upload.DoesNotExist:
        upload = None
    if upload is None or upload.owner_id != user.user_id:
        raise NotFound("No such upload.", code="upload_not_found", details={"upload_id": upload_id})
    return upload


def _reload(upload: Upload) -> Upload:
    return Upload.get(upload.upload_id, consistent_read=True)


def _transition(upload: Upload, state: str, *, finished: bool = False) -> bool:
    """UPLOADING -> `state` once; False when another request moved it first."""
    now = utcnow()
    actions = [Upload.state.set(state), Upload.updated_at.set(now)]
    if finished:
        actions.append(Upload.ttl.remove())  # the pipeline and the owner keep needing the record
    moved = update_if(upload, actions, Upload.state == UPLOADING)
    # Moved now or by a concurrent request: either way it is no longer in flight. (Were this
    # call lost, the lease would still end when the upload's record expires.)
    _release_bytes(upload.owner_id, upload.upload_id)
    return moved


def _fail_video(upload: Upload, reason: str) -> None:
    if upload.purpose in VIDEO_PURPOSES:
        videos.fail_upload(upload.upload_id, reason)


def _abort_quietly(bucket: str, key: str, s3_upload_id: str) -> None:
    try:
        storage.abort_multipart_upload(bucket, key, s3_upload_id)
    except NotFound:
        pass  # already completed or aborted


def _received_single(upload: Upload) -> list[ReceivedPart]:
    try:
        info = storage.head(get_settings().uploads_bucket_name, upload.key)
    except NotFound:
        return []
    return [ReceivedPart(part_number=1, size=info.size, etag=info.etag)]


def _single_put(upload: Upload) -> storage.PresignedPut:
    settings = get_settings()
    return storage.presigned_put(
        settings.uploads_bucket_name,
        upload.key,
        content_type=upload.content_type,
        content_length=int(upload.size),
        checksum_sha256=upload.checksum_sha256,
        expires_in=settings.upload_url_ttl_seconds,
    )


def _part_urls(upload: Upload, numbers) -> list[PartUrl]:
    settings = get_settings()
    return [
        PartUrl(
            part_number=n,
            url=storage.presigned_upload_part(
                settings.uploads_bucket_name,
                upload.key,
                upload.s3_upload_id,
                n,
                expires_in=settings.upload_url_ttl_seconds,
            ),
        )
        for n in numbers
    ]


def _out(
    upload: Upload,
    *,
    received: list[ReceivedPart] | None = None,
    missing: list[PartUrl] | None = None,
    received_bytes: int | None = None,
) -> UploadOut:
    received = received or []
    if received_bytes is None:
        received_bytes = int(upload.size) if upload.state == COMPLETED else sum(p.size for p in received)
    return UploadOut(
        upload_id=upload.upload_id,
        key=upload.key,
        state=upload.state,
        purpose=upload.purpose,
        filename=upload.filename,
        content_type=upload.content_type,
        size=int(upload.size),
        checksum_sha256=upload.checksum_sha256,
        org_id=upload.org_id,
        part_size=int(upload.part_size),
        part_count=int(upload.part_count),
        received=received,
        received_bytes=received_bytes,
        missing=missing or [],
        video_id=upload.upload_id if upload.purpose in VIDEO_PURPOSES else None,
        created_at=upload.created_at,
        updated_at=upload.updated_at,
    )
