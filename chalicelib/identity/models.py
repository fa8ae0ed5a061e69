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


class TutorDirectoryIndex(GlobalSecondaryIndex):
    """Sparse index of active tutors: only items with `tutor_directory` set appear."""

    class Meta:
        index_name = "tutor-directory"
        projection = AllProjection()

    tutor_directory = UnicodeAttribute(hash_key=True)
    tutor_sort = UnicodeAttribute(range_key=True)


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


class TutorProfile(MapAttribute):
    subjects = ListAttribute(of=UnicodeAttribute, default=list)
    years_experience = NumberAttribute(default=0)
    hourly_rate_cents = NumberAttribute(default=0)
    currency = UnicodeAttribute(default="USD")
    active = BooleanAttribute(default=False)


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
    # Access tokens issued before this instant were revoked by a global sign-out.
    tokens_valid_after = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute(default=utcnow)
    updated_at = UTCDateTimeAttribute(default=utcnow)
    version = VersionAttribute()

    tutor_directory_index = TutorDirectoryIndex()

    @property
    def is_admin(self) -> bool:
        return self.role == PLATFORM_ADMIN

    @classmethod
    def tutor_sort_key(cls, display_name: str, user_id: str) -> str:
        """Directory order: by name, case-insensitively; the id keeps keys unique."""
        return f"{display_name.casefold()[:80]}#{user_id}"
