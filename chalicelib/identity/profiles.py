"""Profiles: the signed-in user's own view and edits, and how others see a user."""

from __future__ import annotations

from pynamodb.expressions.update import Action

from chalicelib.core import access
from chalicelib.core.errors import NotFound
from chalicelib.core.roles import TUTOR
from chalicelib.identity import avatars, policy
from chalicelib.identity import service as identity
from chalicelib.identity.models import TUTOR_APPROVED, User
from chalicelib.identity.schemas import (
    MeOut,
    ProfilePatch,
    PublicUserOut,
    SettingsOut,
    TutorApprovalOut,
    TutorProfileOut,
)


def me(user: User) -> MeOut:
    return MeOut(
        user_id=user.user_id,
        email=user.email,
        display_name=user.display_name,
        role=user.role,
        bio=user.bio,
        locale=user.locale,
        settings=_settings_out(user),
        avatar=avatars.avatar_out(user),
        avatar_upload=avatars.upload_state(user),
        tutor_profile=tutor_profile_out(user),
        created_at=user.created_at,
        updated_at=user.updated_at,
    )


def update_me(user: User, patch: ProfilePatch) -> MeOut:
    def actions(current: User) -> list[Action]:
        changes: list[Action] = []
        if "display_name" in patch.model_fields_set:
            changes.append(User.display_name.set(patch.display_name))
            if current.tutor_directory is not None:
                # The directory is ordered by name: keep its sort key in step.
                changes.append(User.tutor_sort.set(User.tutor_sort_key(patch.display_name, current.user_id)))
        if "bio" in patch.model_fields_set:
            changes.append(User.bio.set(patch.bio))
        if "locale" in patch.model_fields_set:
            changes.append(User.locale.set(patch.locale))
        if "settings" in patch.model_fields_set:
            for name in patch.settings.model_fields_set:
                changes.append(getattr(User.settings, name).set(getattr(patch.settings, name)))
        return changes

    identity.update_user(user, actions)
    return me(user)


def public_profile(viewer: User, user_id: str) -> PublicUserOut:
    """A user as another signed-in user sees them.

    A private profile shows others only the display name (the name shown beside the
    user's messages and in their orgs): no avatar, bio, role, locale or tutor profile.
    Its owner and platform admins (moderation) see it in full. The email address is never
    part of a profile; it is shown only in GET /me and to the admins of the user's orgs.
    A tutor profile is shown only while it is listed (active and approved).
    """
    user = viewer if viewer.user_id == user_id else identity.find_user(user_id)
    if user is None:
        raise NotFound("No such user.", code="user_not_found", details={"user_id": user_id})
    visibility = _visibility(user)
    base = PublicUserOut(user_id=user.user_id, display_name=user.display_name, visibility=visibility)
    if visibility == "private" and not access.allows(policy.VIEW_PRIVATE, viewer, user):
        return base
    tutor = tutor_profile_out(user)
    listed = tutor is not None and tutor.listed
    return base.model_copy(
        update={
            "avatar": avatars.avatar_out(user),
            "role": user.role,
            "bio": user.bio,
            "locale": user.locale,
            # The directory's view: the review state and its reasons are the tutor's own business.
            "tutor_profile": tutor.model_copy(update={"approval": None}) if listed else None,
        }
    )


def tutor_profile_out(user: User) -> TutorProfileOut | None:
    tutor = user.tutor
    if tutor is None or user.role != TUTOR:
        return None
    approval = tutor.approval
    return TutorProfileOut(
        subjects=list(tutor.subjects or []),
        years_experience=int(tutor.years_experience),
        hourly_rate_cents=int(tutor.hourly_rate_cents),
        currency=tutor.currency,
        active=bool(tutor.active),
        listed=bool(tutor.active) and approval is not None and approval.state == TUTOR_APPROVED,
        approval=None
        if approval is None
        else TutorApprovalOut(
            state=approval.state,
            reason=approval.reason,
            submitted_at=approval.submitted_at,
            decided_at=approval.decided_at,
        ),
    )


def _visibility(user: User) -> str:
    settings = user.settings
    return (settings.profile_visibility if settings is not None else None) or "public"


def _settings_out(user: User) -> SettingsOut:
    settings = user.settings
    return SettingsOut(
        email_notifications=True
        if settings is None or settings.email_notifications is None
        else settings.email_notifications,
        profile_visibility=_visibility(user),
    )
