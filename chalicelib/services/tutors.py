"""Tutor profiles and the public directory of active tutors.

The directory is the sparse GSI TutorDirectoryIndex: only users with `tutor_directory`
set appear in it, ordered by `tutor_sort` (name, then id). Listing is one Query;
a subject filter is a FilterExpression on it, so a page may hold fewer than `limit`
tutors while `next_cursor` still says there is more.
"""

from __future__ import annotations

import base64
import json

from chalicelib.errors import Forbidden, ValidationFailed
from chalicelib.models.user import TUTOR_DIRECTORY_ACTIVE, TutorProfile, User
from chalicelib.schemas.users import TutorListQuery, TutorOut, TutorPage, TutorProfileIn, TutorProfileOut
from chalicelib.services import avatars, identity, profiles


def put_profile(user: User, body: TutorProfileIn) -> TutorProfileOut:
    if user.role != "tutor":
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
    start_key = _decode_cursor(query.cursor) if query.cursor else None
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
    last_key = results.last_evaluated_key
    return TutorPage(items=items, next_cursor=_encode_cursor(last_key) if last_key else None)


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


_CURSOR_KEYS = {"user_id", "tutor_directory", "tutor_sort"}


def _encode_cursor(key: dict) -> str:
    plain = {name: value["S"] for name, value in key.items()}
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> dict:
    try:
        plain = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        valid = (
            isinstance(plain, dict)
            and set(plain) == _CURSOR_KEYS
            and all(isinstance(v, str) and 0 < len(v) <= 200 for v in plain.values())
            and plain["tutor_directory"] == TUTOR_DIRECTORY_ACTIVE
        )
    except ValueError:
        valid = False
    if not valid:
        raise ValidationFailed(
            "The cursor is invalid.",
            details=[
                {"field": "query.cursor", "message": "not a cursor returned by this API", "type": "invalid_cursor"}
            ],
        )
    return {name: {"S": value} for name, value in plain.items()}
