"""Tutor profiles and the public directory of active tutors.

The directory is the sparse GSI TutorDirectoryIndex: only users with `tutor_directory`
set appear in it, ordered by `tutor_sort` (name, then id). Listing is one Query;
a subject filter is a FilterExpression on it, so a page may hold fewer than `limit`
tutors while `next_cursor` still says there is more.
"""

from __future__ import annotations

from chalicelib.core import pagination
from chalicelib.core.errors import Forbidden
from chalicelib.core.roles import TUTOR
from chalicelib.identity import avatars, profiles
from chalicelib.identity import service as identity
from chalicelib.identity.models import TUTOR_DIRECTORY_ACTIVE, TutorProfile, User
from chalicelib.identity.schemas import TutorListQuery, TutorOut, TutorPage, TutorProfileIn, TutorProfileOut


def put_profile(user: User, body: TutorProfileIn) -> TutorProfileOut:
    if user.role != TUTOR:
        raise Forbidden("Only tutors have a tutor profile.", code="not_a_tutor")
    subjects = list(dict.fromkeys(body.subjects))  # de-duplicated, order kept
    profile = TutorProfile(
        subjects=subjects,
        years_experience=body.years_experience,
        hourly_rate_cents=body.hourly_rate_cents,
        currency=body.currency,
        active=body.active,
    )

    def actions(current: User):
        changes = [User.tutor.set(profile)]
        if body.active:
            changes += [
                User.tutor_directory.set(TUTOR_DIRECTORY_ACTIVE),
                User.tutor_sort.set(User.tutor_sort_key(current.display_name, current.user_id)),
            ]
        else:
            changes += [User.tutor_directory.remove(), User.tutor_sort.remove()]
        return changes

    identity.update_user(user, actions)
    return profiles.tutor_profile_out(user)


def list_tutors(query: TutorListQuery) -> TutorPage:
    start_key = pagination.decode(
        query.cursor,
        keys=(User.user_id.attr_name, User.tutor_sort.attr_name),
        partition={User.tutor_directory.attr_name: TUTOR_DIRECTORY_ACTIVE},
    )
    condition = User.tutor.subjects.contains(query.subject) if query.subject else None
    results = User.tutor_directory_index.query(
        TUTOR_DIRECTORY_ACTIVE,
        filter_condition=condition,
        limit=query.limit,
        last_evaluated_key=start_key,
        # Read a few pages' worth per call when filtering, not one item at a time.
        page_size=query.limit if condition is None else max(query.limit, 50),
    )
    items = [_tutor_out(user) for user in results]
    return TutorPage(items=items, next_cursor=pagination.encode(results.last_evaluated_key))


def _tutor_out(user: User) -> TutorOut:
    tutor = user.tutor
    return TutorOut(
        user_id=user.user_id,
        display_name=user.display_name,
        bio=user.bio,
        avatar=avatars.avatar_out(user),
        subjects=list(tutor.subjects or []),
        years_experience=int(tutor.years_experience),
        hourly_rate_cents=int(tutor.hourly_rate_cents),
        currency=tutor.currency,
    )
