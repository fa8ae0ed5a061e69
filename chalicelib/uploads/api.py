"""Resumable video uploads: presigned multipart (or single PUT) straight to S3.

The protocol, the checksum verification and the pipeline contract are described in
chalicelib/uploads/service.py.
"""

from chalice import Blueprint

from chalicelib.core.ratelimit import per_user
from chalicelib.core.routing import Ctx, route
from chalicelib.uploads import service as uploads
from chalicelib.uploads.schemas import UploadCreate, UploadCreated, UploadId, UploadOut

bp = Blueprint(__name__)


@route(bp, "POST", "/uploads", status=201, limits=[per_user("uploads", by_role=True)])
def create_upload(ctx: Ctx, body: UploadCreate) -> UploadCreated:
    """Start an upload: presigned part URLs (or one PUT URL for a file of one part).

    Limited per user and day by role (429), and by the bytes of the user's unfinished uploads (409).
    """
    return uploads.create_upload(ctx.user, body)


@route(bp, "GET", "/uploads/{upload_id}")
def get_upload(ctx: Ctx, upload_id: UploadId) -> UploadOut:
    """An upload's state, the parts S3 holds and fresh URLs for the missing ones (resume)."""
    return uploads.get_upload(ctx.user, upload_id)


@route(bp, "POST", "/uploads/{upload_id}/complete")
def complete_upload(ctx: Ctx, upload_id: UploadId) -> UploadOut:
    """Join the parts and verify the SHA-256; 409 while parts are missing, 422 on a mismatch."""
    return uploads.complete_upload(ctx.user, upload_id)


@route(bp, "DELETE", "/uploads/{upload_id}", status=204)
def abort_upload(ctx: Ctx, upload_id: UploadId) -> None:
    """Abort an unfinished upload and drop what was sent."""
    uploads.abort_upload(ctx.user, upload_id)
