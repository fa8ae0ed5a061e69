"""Videos: what a video upload became, and where its pipeline stands."""

from __future__ import annotations

from pynamodb.attributes import (
    MapAttribute,
    NumberAttribute,
    NumberSetAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.core.dynamo import KeyedModel, table_meta, utcnow

UPLOADING, PROCESSING, PLAYABLE, READY, FAILED = "UPLOADING", "PROCESSING", "PLAYABLE", "READY", "FAILED"
# Rung states
PENDING, ENCODING, PACKAGED = "PENDING", "ENCODING", "PACKAGED"


class OwnerVideosIndex(GlobalSecondaryIndex):
    """A user's videos, newest last."""

    class Meta:
        index_name = "owner-videos"
        projection = AllProjection()

    owner_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class Failure(MapAttribute):
    step = UnicodeAttribute()
    reason = UnicodeAttribute()
    error = UnicodeAttribute(null=True)  # the error type (MediaRejected, States.Timeout, ...)
    at = UTCDateTimeAttribute(default=utcnow)


class Video(KeyedModel, Model):
    """`video_id` is the id of the upload it came from.

    Pipeline tasks of one execution only touch the item while `attempt` is theirs (a
    condition on every write), so a superseded execution cannot overwrite a reprocess.
    """

    Meta = table_meta("videos_table_name")

    video_id = UnicodeAttribute(hash_key=True)
    owner_id = UnicodeAttribute()
    org_id = UnicodeAttribute(null=True)
    title = UnicodeAttribute(default="")
    status = UnicodeAttribute(default=UPLOADING)
    attempt = NumberAttribute(default=0)
    execution_arn = UnicodeAttribute(null=True)
    source_bucket = UnicodeAttribute(null=True)
    source_key = UnicodeAttribute(null=True)
    progress = NumberAttribute(default=0)  # percent, 0-100
    segments_total = NumberAttribute(default=0)
    segments_done = NumberAttribute(default=0)  # how many indexes segments_encoded holds
    # Indexes of the encoded segments: ADD to a set is atomic and idempotent, so a retried
    # EncodeSegment is counted once (a plain ADD 1 would count it twice).
    segments_encoded = NumberSetAttribute(null=True)
    rungs = MapAttribute(default=dict)  # name -> PENDING | ENCODING | PACKAGED
    probe = MapAttribute(null=True)  # duration, width, height, rotation, fps, has_audio, codecs
    renditions = MapAttribute(null=True)  # name -> {width, height, bitrate, bytes, codecs}
    assets_prefix = UnicodeAttribute(null=True)  # media prefix that playback reads
    playable_rungs = MapAttribute(default=dict)  # name -> True once packaged and published
    failure = Failure(null=True)
    # ISO-8601 string (not a datetime attribute) so the owner-videos index sorts on it.
    created_at = UnicodeAttribute(default=lambda: utcnow().isoformat())
    updated_at = UTCDateTimeAttribute(default=utcnow)

    owner_videos = OwnerVideosIndex()

    @classmethod
    def key(cls, video_id: str) -> tuple[str]:
        return (video_id,)

    @staticmethod
    def execution_name(video_id: str, attempt: int) -> str:
        """Step Functions execution names are unique per machine: a duplicate event starts nothing."""
        return f"{video_id}-{attempt}"
