"""Avatars: presigned upload, validation, thumbnails, publication.

Flow: POST /me/avatar records `avatar_upload = PENDING(upload_id)` and returns a presigned
POST for `avatars/{user_id}/{upload_id}` in the uploads bucket. S3 reports the new object
through SQS to functions/process_avatar, which calls `process_upload`.

Idempotency comes from the User item itself rather than a separate idempotency table:
an upload is published only while it is still *the* pending upload of its user (one
conditional update). A repeated event finds it READY/REJECTED and does nothing; an older
upload finishing after a newer one was requested finds another upload_id and does nothing,
so it can never replace the newer avatar. Thumbnail keys are derived from the upload id,
so two deliveries processed at once write identical objects and only one update wins.
"""

from __future__ import annotations

import io
import re
import uuid
import warnings

from chalicelib.adapters import storage
from chalicelib.core.config import get_settings
from chalicelib.core.dynamo import update_if, utcnow
from chalicelib.core.errors import MediaRejected, NotFound, ValidationFailed
from chalicelib.core.observability import count, logger
from chalicelib.identity import service as identity
from chalicelib.identity.models import Avatar, AvatarUpload, User
from chalicelib.identity.schemas import AvatarOut, AvatarUploadOut, AvatarUploadRequest, AvatarUploadState

THUMBNAIL_SIZES = (64, 256, 512)
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP")
# Far above any real avatar, far below what would exhaust a 512 MB function.
MAX_PIXELS = 36_000_000
MAX_SIDE = 10_000
MIN_SIDE = 16

PENDING, READY, REJECTED = "PENDING", "READY", "REJECTED"

_UPLOAD_KEY = re.compile(r"^avatars/(?P<user_id>[0-9a-f-]{36})/(?P<upload_id>[0-9a-f]{32})$")


def upload_key(user_id: str, upload_id: str) -> str:
    return f"avatars/{user_id}/{upload_id}"


def thumbnail_key(prefix: str, size: int) -> str:
    return f"{prefix}/{size}.webp"


# ------------------------------------------------------------------ API side


def request_upload(user: User, body: AvatarUploadRequest) -> AvatarUploadOut:
    settings = get_settings()
    if body.size > settings.avatar_max_bytes:
        raise ValidationFailed(
            "The image is too large.",
            details=[
                {
                    "field": "body.size",
                    "message": f"at most {settings.avatar_max_bytes} bytes",
                    "type": "too_large",
                }
            ],
        )
    upload_id = uuid.uuid4().hex
    post = storage.presigned_post(
        settings.uploads_bucket_name,
        upload_key(user.user_id, upload_id),
        content_type=body.content_type,
        max_bytes=settings.avatar_max_bytes,
        expires_in=settings.presigned_url_ttl_seconds,
    )
    pending = AvatarUpload(upload_id=upload_id, state=PENDING, updated_at=utcnow())
    identity.update_user(user, lambda u: [User.avatar_upload.set(pending)])
    logger.info("avatar upload requested", extra={"user_id": user.user_id, "upload_id": upload_id})
    return AvatarUploadOut(
        upload_id=upload_id,
        url=post.url,
        fields=post.fields,
        max_bytes=settings.avatar_max_bytes,
        expires_in=settings.presigned_url_ttl_seconds,
    )


def avatar_out(user: User) -> AvatarOut | None:
    if user.avatar is None:
        return None
    settings = get_settings()
    ttl = settings.media_url_ttl_seconds
    urls = {
        str(int(size)): storage.presigned_get(
            settings.media_bucket_name, thumbnail_key(user.avatar.prefix, int(size)), expires_in=ttl
        )
        for size in user.avatar.sizes
    }
    return AvatarOut(urls=urls, expires_in=ttl, updated_at=user.avatar.updated_at)


def upload_state(user: User) -> AvatarUploadState | None:
    upload = user.avatar_upload
    if upload is None:
        return None
    return AvatarUploadState(
        upload_id=upload.upload_id, state=upload.state, reason=upload.reason, updated_at=upload.updated_at
    )


# ------------------------------------------------------------------ processing side


def process_upload(bucket: str, key: str) -> str:
    """Validate one uploaded object and publish it as its user's avatar.

    Returns what happened: "ready", "rejected", "skipped" (duplicate or superseded) or
    "ignored" (not an avatar upload). Transient failures raise, so the message is retried.
    """
    settings = get_settings()
    match = _UPLOAD_KEY.match(key)
    if bucket != settings.uploads_bucket_name or not match:
        logger.warning("not an avatar upload; ignored", extra={"bucket": bucket, "key": key})
        return "ignored"
    user_id, upload_id = match["user_id"], match["upload_id"]
    logger.append_keys(user_id=user_id, upload_id=upload_id)
    try:
        user = identity.find_user(user_id)
        if user is None:
            logger.warning("avatar for an unknown user; ignored")
            return "ignored"
        if not _is_pending(user, upload_id):
            logger.info("avatar upload already handled or superseded; skipped")
            return "skipped"
        try:
            image = _fetch(bucket, key, settings.avatar_max_bytes)
            thumbnails = render_thumbnails(image)
        except MediaRejected as exc:
            logger.info("avatar rejected", extra={"reason": exc.message})
            count("AvatarRejected")
            return "rejected" if _finish(user, upload_id, REJECTED, reason=exc.message) else "skipped"
        prefix = upload_key(user_id, upload_id)
        for size, data in thumbnails.items():
            storage.put_bytes(
                settings.media_bucket_name,
                thumbnail_key(prefix, size),
                data,
                content_type="image/webp",
                # Keys are unique per upload, so a thumbnail never changes once written.
                cache_control="private, max-age=31536000, immutable",
            )
        avatar = Avatar(prefix=prefix, sizes=list(thumbnails), updated_at=utcnow())
        published = _finish(user, upload_id, READY, avatar=avatar)
        logger.info("avatar published" if published else "avatar superseded while processing")
        if published:
            count("AvatarPublished")
        return "ready" if published else "skipped"
    finally:
        logger.remove_keys(["user_id", "upload_id"])


def render_thumbnails(data: bytes) -> dict[int, bytes]:
    """Square WebP thumbnails of a JPEG/PNG/WebP image, upright per its EXIF orientation.

    Raises MediaRejected with a reason a person can read for anything else.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    with warnings.catch_warnings():
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that; refuse those too.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
        except UnidentifiedImageError:
            raise MediaRejected("The file is not a JPEG, PNG or WebP image.") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise MediaRejected(f"The image has too many pixels (at most {MAX_PIXELS}).") from None
        except (OSError, SyntaxError, ValueError):
            raise MediaRejected("The image could not be read; it may be corrupt.") from None
        width, height = image.size
        if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
            raise MediaRejected(
                f"The image is {width}x{height} pixels; at most {MAX_SIDE} pixels a side "
                f"and {MAX_PIXELS} pixels in all are accepted."
            )
        if min(width, height) < MIN_SIDE:
            raise MediaRejected(f"The image is {width}x{height} pixels; at least {MIN_SIDE} a side is needed.")
        if image.format == "JPEG":
            # Decode at a reduced scale: much faster for large photos, same thumbnails.
            image.draft("RGB", (THUMBNAIL_SIZES[-1] * 2, THUMBNAIL_SIZES[-1] * 2))
        try:
            image.load()
            image = ImageOps.exif_transpose(image)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise MediaRejected(f"The image has too many pixels (at most {MAX_PIXELS}).") from None
        except (OSError, SyntaxError, ValueError, EOFError):
            raise MediaRejected("The image could not be decoded; it may be corrupt or truncated.") from None

    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    image = image.convert("RGBA" if has_alpha else "RGB")
    largest = max(THUMBNAIL_SIZES)
    square = ImageOps.fit(image, (largest, largest), method=Image.Resampling.LANCZOS)
    thumbnails: dict[int, bytes] = {}
    for size in sorted(THUMBNAIL_SIZES):
        thumb = square if size == largest else square.resize((size, size), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        thumb.save(out, "WEBP", quality=85, method=4)  # no EXIF/ICC copied: nothing leaks
        thumbnails[size] = out.getvalue()
    return thumbnails


def _fetch(bucket: str, key: str, max_bytes: int) -> bytes:
    # HEAD first: S3 (and the emulator even more so) may hold more than the POST policy allowed.
    try:
        info = storage.head(bucket, key)
    except NotFound:
        raise MediaRejected("The uploaded file could not be found; upload it again.") from None
    if info.size == 0:
        raise MediaRejected("The uploaded file is empty.")
    if info.size > max_bytes:
        raise MediaRejected(f"The file is {info.size} bytes; the limit is {max_bytes} bytes.")
    try:
        data = storage.get_bytes(bucket, key, max_bytes=max_bytes + 1)
    except NotFound:
        raise MediaRejected("The uploaded file could not be found; upload it again.") from None
    if len(data) > max_bytes:  # replaced by a larger object since the HEAD
        raise MediaRejected(f"The file is larger than {max_bytes} bytes.")
    return data


def _is_pending(user: User, upload_id: str) -> bool:
    upload = user.avatar_upload
    return upload is not None and upload.upload_id == upload_id and upload.state == PENDING


def _finish(user: User, upload_id: str, state: str, *, reason: str | None = None, avatar: Avatar | None = None) -> bool:
    """Record the outcome if this upload is still the pending one; False when it is not."""
    now = utcnow()
    outcome = AvatarUpload(upload_id=upload_id, state=state, reason=reason, updated_at=now)
    actions = [User.avatar_upload.set(outcome), User.updated_at.set(now)]
    if avatar is not None:
        actions.append(User.avatar.set(avatar))
    still_pending = (User.avatar_upload.upload_id == upload_id) & (User.avatar_upload.state == PENDING)
    # The condition, not the version, decides: profile edits meanwhile must not block this.
    return update_if(user, actions, still_pending)
