"""Users: one item per Cognito user, keyed by the Cognito `sub`."""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.core.dynamo import table_meta, utcnow
from chalicelib.core.roles import PLATFORM_ADMIN

TUTOR_DIRECTORY_ACTIVE = "ACTIVE"

# A tutor profile's review by the platform's admins (TutorApproval.state).
TUTOR_PENDING, TUTOR_APPROVED, TUTOR_REJECTED = "pending", "approved", "rejected"
# The states listed by the tutor-review index (an approved profile is in the directory instead).
TUTOR_REVIEW_STATES = (TUTOR_PENDING, TUTOR_REJECTED)


class TutorDirectoryIndex(GlobalSecondaryIndex):
    """Sparse index of listed tutors (active and approved): only items with `tutor_directory` set appear."""

    class Meta:
        index_name = "tutor-directory"
        projection = AllProjection()

    tutor_directory = UnicodeAttribute(hash_key=True)
    tutor_sort = UnicodeAttribute(range_key=True)


class TutorReviewIndex(GlobalSecondaryIndex):
    """Sparse index of tutor profiles awaiting review ("pending", oldest submission first) or
    rejected ("rejected", oldest decision first): only items with `tutor_review` set appear."""

    class Meta:
        index_name = "tutor-review"
        projection = AllProjection()

    tutor_review = UnicodeAttribute(hash_key=True)
    tutor_review_at = UTCDateTimeAttribute(range_key=True)


class UserSettings(MapAttribute):
    email_notifications = BooleanAttribute(default=True)
    profile_visibility = UnicodeAttribute(default="public")  # public | private


class Avatar(MapAttribute):
    """The published avatar: thumbnails in the media bucket under `prefix`."""

    prefix = UnicodeAttribute()
    sizes = ListAttribute(of=NumberAttribute)
    updated_at = UTCDateTimeAttribute()


class AvatarUpload(MapAttribute):
    """The latest avatar upload and what became of it."""

    upload_id = UnicodeAttribute()
    state = UnicodeAttribute()  # PENDING | READY | REJECTED
    reason = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute()


class TutorApproval(MapAttribute):
    """Where a tutor profile stands with the platform's admins (chalicelib/identity/tutors.py)."""

    state = UnicodeAttribute()  # pending | approved | rejected
    reason = UnicodeAttribute(null=True)  # why it was rejected; shown to the tutor
    submitted_at = UTCDateTimeAttribute()  # when the reviewed content was submitted
    decided_at = UTCDateTimeAttribute(null=True)
    decided_by = UnicodeAttribute(null=True)  # the platform admin's user id


class TutorProfile(MapAttribute):
    subjects = ListAttribute(of=UnicodeAttribute, default=list)
    years_experience = NumberAttribute(default=0)
    hourly_rate_cents = NumberAttribute(default=0)
    currency = UnicodeAttribute(default="USD")
    active = BooleanAttribute(default=False)
    approval = TutorApproval(null=True)  # None until first submitted (saved active)


class User(Model):
    Meta = table_meta("users_table_name")

    user_id = UnicodeAttribute(hash_key=True)
    email = UnicodeAttribute()
    display_name = UnicodeAttribute()
    role = UnicodeAttribute()  # student | tutor | admin
    bio = UnicodeAttribute(default="")
    locale = UnicodeAttribute(default="en")
    settings = UserSettings(default=UserSettings)
    avatar = Avatar(null=True)
    avatar_upload = AvatarUpload(null=True)
    tutor = TutorProfile(null=True)
    tutor_directory = UnicodeAttribute(null=True)
    tutor_sort = UnicodeAttribute(null=True)
    # Set only while the tutor profile is pending or rejected: keys of the tutor-review index.
    tutor_review = UnicodeAttribute(null=True)
    tutor_review_at = UTCDateTimeAttribute(null=True)
    # Access tokens issued before this instant were revoked by a global sign-out.
    tokens_valid_after = NumberAttribute(default=0)
    # A suspended account's tokens are refused (403 account_suspended) until a platform admin
    # lifts the suspension; suspending also revokes every session.
    suspended = BooleanAttribute(default=False)
    suspended_at = UTCDateTimeAttribute(null=True)
    suspended_by = UnicodeAttribute(null=True)
    suspension_reason = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute(default=utcnow)
    updated_at = UTCDateTimeAttribute(default=utcnow)
    version = VersionAttribute()

    tutor_directory_index = TutorDirectoryIndex()
    tutor_review_index = TutorReviewIndex()

    @property
    def is_admin(self) -> bool:
        return self.role == PLATFORM_ADMIN

    @classmethod
    def tutor_sort_key(cls, display_name: str, user_id: str) -> str:
        """Directory order: by name, case-insensitively; the id keeps keys unique."""
        return f"{display_name.casefold()[:80]}#{user_id}"
