"""core/dynamo.py: guarded writes answer whether their condition held, and write only then.

`update_if` / `save_if` / `delete_if` return False (writing nothing) when the condition does
not hold and True (having written) when it does; any other DynamoDB error propagates rather
than being mistaken for a failed condition. `transaction(on_conflict)` is all or nothing:
one failing condition raises the caller's error and leaves every item as it was.

Real models on the provisioned tables (videos, orgs), each test with fresh ids; every
outcome is checked by reading the item back with a consistent read.
"""

from __future__ import annotations

import uuid

import pytest


def fresh_id() -> str:
    return str(uuid.uuid4())


def stored_video(video_id: str):
    from chalicelib.video.models import Video

    return Video.get_or_none(video_id, consistent_read=True)


def saved_video(**attrs):
    from chalicelib.video.models import PROCESSING, Video

    video = Video(fresh_id(), owner_id=fresh_id(), status=PROCESSING, attempt=1, title="original", **attrs)
    video.save()
    return video


# ---------------------------------------------------------------- update_if


def test_update_if_writes_nothing_and_answers_false_when_the_condition_fails():
    from chalicelib.core.dynamo import update_if
    from chalicelib.video.models import READY, Video

    # GIVEN a video on attempt 1
    video = saved_video()

    # WHEN a write guarded by "attempt is 2" (a superseded execution's guard) is applied
    written = update_if(video, [Video.status.set(READY), Video.title.set("changed")], Video.attempt == 2)

    # THEN it answers False and the stored item is unchanged
    assert written is False
    stored = stored_video(video.video_id)
    assert (stored.status, stored.title) == ("PROCESSING", "original")


def test_update_if_writes_and_answers_true_when_the_condition_holds():
    from chalicelib.core.dynamo import update_if
    from chalicelib.video.models import READY, Video

    # GIVEN a video on attempt 1
    video = saved_video()

    # WHEN a write guarded by "attempt is 1" is applied
    written = update_if(video, [Video.status.set(READY), Video.title.set("changed")], Video.attempt == 1)

    # THEN it answers True and the item holds the new values
    assert written is True
    stored = stored_video(video.video_id)
    assert (stored.status, stored.title) == (READY, "changed")


def test_update_if_does_not_create_a_missing_item_guarded_by_exists():
    from chalicelib.core.dynamo import update_if
    from chalicelib.orgs.models import Organization

    # GIVEN an org id that was never created
    org_id = fresh_id()

    # WHEN a key-only handle is updated under "the org exists" (how the services count members)
    written = update_if(
        Organization.ref(org_id), [Organization.member_count.add(1)], Organization.pk.exists(), versioned=False
    )

    # THEN nothing is upserted: False, and there is still no such item
    assert written is False
    assert Organization.get_or_none(org_id, consistent_read=True) is None


def test_a_versioned_update_from_a_stale_read_answers_false_and_keeps_the_newer_write():
    from chalicelib.core.dynamo import update_if
    from chalicelib.orgs.models import Organization

    # GIVEN an org read twice, and one copy already written back (the version moved on)
    org_id = fresh_id()
    Organization.new(org_id, name="Before", created_by=fresh_id()).save()
    first = Organization.get_or_none(org_id, consistent_read=True)
    stale = Organization.get_or_none(org_id, consistent_read=True)
    assert update_if(first, [Organization.name.set("First")], versioned=True) is True

    # WHEN the stale copy is written with versioned=True
    written = update_if(stale, [Organization.name.set("Stale")], versioned=True)

    # THEN it is refused and the first write stands
    assert written is False
    stored = Organization.get_or_none(org_id, consistent_read=True)
    assert stored.name == "First"
    assert stored.version == first.version


def test_update_if_lets_errors_other_than_a_failed_condition_propagate():
    from pynamodb.exceptions import UpdateError

    from chalicelib.core.dynamo import update_if
    from chalicelib.video.models import Video

    # GIVEN a video
    video = saved_video()

    # WHEN an update DynamoDB rejects as invalid (changing the hash key) is applied
    # THEN it raises: a refused request is not the answer "someone changed it first"
    with pytest.raises(UpdateError) as raised:
        update_if(video, [Video.video_id.set(fresh_id())], Video.attempt == 1)
    assert raised.value.cause_response_code == "ValidationException"
    assert stored_video(video.video_id).title == "original"


# ---------------------------------------------------------------- save_if


def test_save_if_answers_false_and_keeps_the_existing_item_when_the_condition_fails():
    from chalicelib.core.dynamo import save_if
    from chalicelib.video.models import Video

    # GIVEN a video that exists
    video = saved_video()

    # WHEN another item with the same key is saved under "it does not exist yet"
    intruder = Video(video.video_id, owner_id=fresh_id(), title="intruder")
    written = save_if(intruder, Video.video_id.does_not_exist())

    # THEN it answers False and the original item is untouched
    assert written is False
    stored = stored_video(video.video_id)
    assert (stored.title, stored.owner_id) == ("original", video.owner_id)


def test_save_if_puts_the_item_and_answers_true_when_the_condition_holds():
    from chalicelib.core.dynamo import save_if
    from chalicelib.video.models import Video

    # GIVEN a key nobody used
    video = Video(fresh_id(), owner_id=fresh_id(), title="new")

    # WHEN it is saved under "it does not exist yet"
    written = save_if(video, Video.video_id.does_not_exist())

    # THEN it answers True and the item is stored
    assert written is True
    assert stored_video(video.video_id).title == "new"


# ---------------------------------------------------------------- delete_if


def test_delete_if_answers_false_and_keeps_the_item_when_the_condition_fails():
    from chalicelib.core.dynamo import delete_if
    from chalicelib.video.models import READY, Video

    # GIVEN a video still processing
    video = saved_video()

    # WHEN it is deleted under "it is READY"
    deleted = delete_if(video, Video.status == READY)

    # THEN it answers False and the item is still there
    assert deleted is False
    assert stored_video(video.video_id) is not None


def test_delete_if_deletes_and_answers_true_when_the_condition_holds():
    from chalicelib.core.dynamo import delete_if
    from chalicelib.video.models import PROCESSING, Video

    # GIVEN a video still processing
    video = saved_video()

    # WHEN it is deleted under "it is PROCESSING"
    deleted = delete_if(video, Video.status == PROCESSING)

    # THEN it answers True and the item is gone
    assert deleted is True
    assert stored_video(video.video_id) is None


# ---------------------------------------------------------------- transaction


def org_and_owner(org_id: str, owner_id: str):
    from chalicelib.orgs.models import Membership, Organization

    org = Organization.new(org_id, name="Tx Org", created_by=owner_id, member_count=1, owner_count=1)
    owner = Membership.new(org_id, owner_id, role="owner", added_by=owner_id)
    return org, owner


def test_a_transaction_whose_conditions_hold_writes_every_item():
    from chalicelib.core.dynamo import transaction
    from chalicelib.core.errors import Conflict
    from chalicelib.orgs.models import Membership, Organization

    # GIVEN a new org and its owner's membership
    org_id, owner_id = fresh_id(), fresh_id()
    org, owner = org_and_owner(org_id, owner_id)

    # WHEN both are saved in one transaction, each under "it does not exist yet"
    with transaction(Conflict("lost a race", code="concurrent_change")) as tx:
        tx.save(org, condition=Organization.pk.does_not_exist())
        tx.save(owner, condition=Membership.pk.does_not_exist())

    # THEN both are stored
    assert Organization.get_or_none(org_id, consistent_read=True).owner_count == 1
    assert Membership.get_or_none(org_id, owner_id, consistent_read=True).role == "owner"


def test_a_transaction_with_one_failing_condition_raises_the_given_error_and_writes_nothing():
    from chalicelib.core.dynamo import transaction
    from chalicelib.core.errors import Conflict
    from chalicelib.orgs.models import Membership, Organization

    # GIVEN a membership that already exists, for an org that does not exist yet
    org_id, owner_id = fresh_id(), fresh_id()
    org, owner = org_and_owner(org_id, owner_id)
    Membership.new(org_id, owner_id, role="member", added_by=owner_id).save()
    conflict = Conflict("lost a race", code="concurrent_change")

    # WHEN a transaction saves the org (its condition holds) and the membership (its fails)
    with pytest.raises(Conflict) as raised:
        with transaction(conflict) as tx:
            tx.save(org, condition=Organization.pk.does_not_exist())
            tx.save(owner, condition=Membership.pk.does_not_exist())

    # THEN the caller's own error is raised, and neither item was written: no org, and the
    # membership keeps its old role
    assert raised.value is conflict
    assert Organization.get_or_none(org_id, consistent_read=True) is None
    assert Membership.get_or_none(org_id, owner_id, consistent_read=True).role == "member"


def test_a_transaction_guarded_by_a_counter_deletes_nothing_when_the_guard_fails():
    from chalicelib.core.dynamo import transaction
    from chalicelib.core.errors import Conflict
    from chalicelib.orgs.models import Membership, Organization

    # GIVEN an org with a single owner
    org_id, owner_id = fresh_id(), fresh_id()
    org, owner = org_and_owner(org_id, owner_id)
    org.save()
    owner.save()
    last_owner = Conflict("the last owner stays", code="last_owner")

    # WHEN the owner's membership is deleted (condition holds) together with decrementing the
    # owner count under "more than one owner" (condition fails): the last-owner guard's shape
    with pytest.raises(Conflict) as raised:
        with transaction(last_owner) as tx:
            tx.delete(owner, condition=Membership.role == "owner")
            tx.update(
                Organization.ref(org_id),
                [Organization.owner_count.add(-1), Organization.member_count.add(-1)],
                condition=Organization.owner_count > 1,
            )

    # THEN the given error is raised and the delete did not happen either
    assert raised.value is last_owner
    assert Membership.get_or_none(org_id, owner_id, consistent_read=True).role == "owner"
    stored = Organization.get_or_none(org_id, consistent_read=True)
    assert (stored.owner_count, stored.member_count) == (1, 1)
