"""Tutor profiles, their review by platform admins, and the public directory of listed tutors.

A tutor is listed only once a platform admin has approved the profile. The review:

- Saving a profile active (`PUT /me/tutor-profile`, active=true) submits it: its approval
  becomes "pending" and it joins the admins' queue. Two cases keep the standing instead:
  an approved profile whose reviewed fields (`REVIEWED_FIELDS`: subjects and years of
  experience, the claims an admin vets) are unchanged stays approved and listed — a
  tutor may change the rate or currency, or pause and resume, without a new review; and
  a profile already pending keeps its place in the queue (the admin sees the latest content).
- Saving it inactive takes it out of the directory. A pending profile is withdrawn from the
  queue (approval back to none); an approved one stays approved while its reviewed fields
  are unchanged (re-activating lists it again at once); a rejected one keeps its rejection.
- A platform admin approves or rejects (with a reason, shown to the tutor) any submitted
  profile, pending or already decided (a rejection can be overturned, an approval revoked);
  repeating a decision changes nothing. A profile never submitted is 409.
- The tutor sees the state, the reason and the dates in `tutor_profile.approval` (GET /me
  and the PUT's answer). Others never see them.
- Display name and bio are not reviewed here: they are profile fields that every user has.

Indexes (both sparse; see docs/data-model.md):
- `tutor-directory`: only listed tutors carry `tutor_directory`, ordered by `tutor_sort`
  (name, then id). Listing is one Query; a subject filter is a FilterExpression on it, so a
  page may hold fewer than `limit` tutors while `next_cursor` still says there is more.
- `tutor-review`: only pending and rejected profiles carry `tutor_review` (the state),
  ordered by `tutor_review_at` (submission for pending, decision for rejected): the queue.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pynamodb.expressions.update import Action

from chalicelib.core import access, pagination
from chalicelib.core.dynamo import utcnow
from chalicelib.core.errors import Conflict, Forbidden, NotFound
from chalicelib.core.observability import count, logger
from chalicelib.core.roles import TUTOR
from chalicelib.identity import avatars, policy, profiles
from chalicelib.identity import service as identity
from chalicelib.identity.models import (
    TUTOR_APPROVED,
    TUTOR_DIRECTORY_ACTIVE,
    TUTOR_PENDING,
    TUTOR_REJECTED,
    TUTOR_REVIEW_STATES,
    TutorApproval,
    TutorProfile,
    User,
)
from chalicelib.identity.schemas import (
    TutorListQuery,
    TutorOut,
    TutorPage,
    TutorProfileIn,
    TutorProfileOut,
    TutorRejectRequest,
    TutorReviewOut,
    TutorReviewPage,
    TutorReviewQuery,
)

REVIEWED_FIELDS = ("subjects", "years_experience")


# ------------------------------------------------------------------ the tutor's own profile


def put_profile(user: User, body: TutorProfileIn) -> TutorProfileOut:
    if user.role != TUTOR:
        raise Forbidden("Only tutors have a tutor profile.", code="not_a_tutor")
    subjects = list(dict.fromkeys(body.subjects))  # de-duplicated, order kept

    def actions(current: User) -> list[Action]:
        old = current.tutor
        unchanged = old is not None and _reviewed(old) == (subjects, body.years_experience)
        approval = _next_approval(old.approval if old else None, active=body.active, unchanged=unchanged)
        profile = TutorProfile(
            subjects=subjects,
            years_experience=body.years_experience,
            hourly_rate_cents=body.hourly_rate_cents,
            currency=body.currency,
            active=body.active,
            approval=approval,
        )
        return _store(current, profile)

    before = _submitted_at(user)
    identity.update_user(user, actions)
    if _submitted_at(user) not in (None, before):
        logger.info("tutor profile submitted for review", extra={"user_id": user.user_id})
        count("TutorProfileSubmitted")
    return profiles.tutor_profile_out(user)


def _submitted_at(user: User) -> datetime | None:
    approval = user.tutor.approval if user.tutor is not None else None
    return approval.submitted_at if approval is not None and approval.state == TUTOR_PENDING else None


def _next_approval(old: TutorApproval | None, *, active: bool, unchanged: bool) -> TutorApproval | None:
    """The approval after the tutor saves the profile (the rules in the module's doc)."""
    state = old.state if old is not None else None
    if active:
        if (state == TUTOR_APPROVED and unchanged) or state == TUTOR_PENDING:
            return old
        return TutorApproval(state=TUTOR_PENDING, submitted_at=utcnow())
    if state == TUTOR_PENDING or (state == TUTOR_APPROVED and not unchanged):
        return None
    return old


def _reviewed(profile: TutorProfile) -> tuple[list[str], int]:
    return list(profile.subjects or []), int(profile.years_experience)


# ------------------------------------------------------------------ review by platform admins


def review_queue(admin: User, query: TutorReviewQuery) -> TutorReviewPage:
    """Tutor profiles in one review state, oldest first (one Query on the tutor-review index)."""
    access.require(policy.PLATFORM_ADMIN, admin)
    start_key = pagination.decode(
        query.cursor,
        keys=(User.user_id.attr_name, User.tutor_review_at.attr_name),
        partition={User.tutor_review.attr_name: query.state},
    )
    results = User.tutor_review_index.query(query.state, limit=query.limit, last_evaluated_key=start_key)
    items = [review_out(user) for user in results]
    return TutorReviewPage(items=items, next_cursor=pagination.encode(results.last_evaluated_key))


def approve(admin: User, user_id: str) -> TutorReviewOut:
    """Approve the tutor's submitted profile: it is listed while active."""
    return _decide(admin, user_id, lambda old, now: _decided(old, TUTOR_APPROVED, now, admin.user_id))


def reject(admin: User, user_id: str, body: TutorRejectRequest) -> TutorReviewOut:
    """Reject the tutor's submitted profile with a reason the tutor is shown; it is not listed."""
    return _decide(
        admin, user_id, lambda old, now: _decided(old, TUTOR_REJECTED, now, admin.user_id, reason=body.reason)
    )


def _decide(admin: User, user_id: str, decision: Callable[[TutorApproval, datetime], TutorApproval]) -> TutorReviewOut:
    access.require(policy.PLATFORM_ADMIN, admin)
    tutor = identity.find_user(user_id)
    if tutor is None or tutor.role != TUTOR or tutor.tutor is None:
        raise NotFound("No tutor profile for this user.", code="tutor_profile_not_found", details={"user_id": user_id})

    def actions(current: User) -> list[Action]:
        # Decided on the item as it is now: a retry after a concurrent change decides again.
        profile = current.tutor
        if current.role != TUTOR or profile is None:
            raise NotFound("No tutor profile for this user.", code="tutor_profile_not_found")
        if profile.approval is None:
            raise Conflict(
                "This tutor profile has not been submitted for review (it was never saved active).",
                code="tutor_profile_not_submitted",
            )
        decided = decision(profile.approval, utcnow())
        return _store(current, _with_approval(profile, decided))

    identity.update_user(tutor, actions)
    approval = tutor.tutor.approval
    logger.info("tutor profile reviewed", extra={"user_id": user_id, "state": approval.state, "by": admin.user_id})
    count("TutorProfileApproved" if approval.state == TUTOR_APPROVED else "TutorProfileRejected")
    return review_out(tutor)


def _decided(
    old: TutorApproval, state: str, now: datetime, admin_id: str, *, reason: str | None = None
) -> TutorApproval:
    if old.state == state and old.reason == reason:
        return old  # the same decision again: nothing changes, not even its date
    return TutorApproval(state=state, reason=reason, submitted_at=old.submitted_at, decided_at=now, decided_by=admin_id)


def _with_approval(profile: TutorProfile, approval: TutorApproval) -> TutorProfile:
    return TutorProfile(
        subjects=list(profile.subjects or []),
        years_experience=int(profile.years_experience),
        hourly_rate_cents=int(profile.hourly_rate_cents),
        currency=profile.currency,
        active=bool(profile.active),
        approval=approval,
    )


def _store(current: User, profile: TutorProfile) -> list[Action]:
    """Actions writing `profile` and keeping both sparse indexes' keys in step with it."""
    changes: list[Action] = [User.tutor.set(profile)]
    approval = profile.approval
    if profile.active and approval is not None and approval.state == TUTOR_APPROVED:
        changes += [
            User.tutor_directory.set(TUTOR_DIRECTORY_ACTIVE),
            User.tutor_sort.set(User.tutor_sort_key(current.display_name, current.user_id)),
        ]
    elif current.tutor_directory is not None:
        changes += [User.tutor_directory.remove(), User.tutor_sort.remove()]
    if approval is not None and approval.state in TUTOR_REVIEW_STATES:
        since = approval.submitted_at if approval.state == TUTOR_PENDING else approval.decided_at
        changes += [User.tutor_review.set(approval.state), User.tutor_review_at.set(since)]
    elif current.tutor_review is not None:
        changes += [User.tutor_review.remove(), User.tutor_review_at.remove()]
    return changes


def review_out(user: User) -> TutorReviewOut:
    tutor = profiles.tutor_profile_out(user)
    return TutorReviewOut(
        user_id=user.user_id,
        display_name=user.display_name,
        email=user.email,
        bio=user.bio,
        subjects=tutor.subjects,
        years_experience=tutor.years_experience,
        hourly_rate_cents=tutor.hourly_rate_cents,
        currency=tutor.currency,
        active=tutor.active,
        listed=tutor.listed,
        approval=tutor.approval,
        decided_by=user.tutor.approval.decided_by if user.tutor.approval is not None else None,
    )


# ------------------------------------------------------------------ the directory


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
