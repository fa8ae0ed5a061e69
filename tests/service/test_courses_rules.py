"""The course catalog's business rules, called as functions (the HTTP contract is in
tests/integration/test_courses.py):

- the category tree stays consistent: a moved subtree carries every path and level below
  it, and a move under one's own descendant is refused without changing anything;
- a course is counted in its category's course_count and its tags' usage_count exactly while
  it is listed (published and not deleted): publish, unpublish, delete, restore and a change
  of category or tags move the counters with it;
- publishing lists every unmet condition, a video missing from the video table included;
- concurrent edits of a course's chapters never lose one: each either lands or is refused
  with 409 concurrent_change;
- who manages a course: its instructor, its org's admins, platform admins.

Every outcome is read back from the table.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.fixtures.accounts import join_org


def _svc():
    from chalicelib.courses import service

    return service


def category(admin: Any, name: str, parent_id: str | None = None) -> str:
    from chalicelib.courses.schemas import CategoryCreate

    return _svc().create_category(admin, CategoryCreate(name=name, parent_id=parent_id)).category_id


def stored_category(category_id: str) -> Any:
    from chalicelib.courses.models import Category

    return Category.get_or_none(category_id, consistent_read=True)


def stored_tag(tag_id: str) -> Any:
    from chalicelib.courses.models import Tag

    return Tag.get_or_none(tag_id, consistent_read=True)


def stored_course(course_id: str) -> Any:
    from chalicelib.courses.models import Course

    return Course.get_or_none(course_id, consistent_read=True)


def new_course(user: Any, **fields: Any) -> str:
    from chalicelib.courses.schemas import CourseCreate

    body = CourseCreate(**{"title": "Rules course", "description": "About rules.", **fields})
    return _svc().create_course(user, body).course_id


def video(owner: Any, status: str = "READY") -> str:
    from chalicelib.video.models import Video

    item = Video(str(uuid.uuid4()), owner_id=owner.user_id, status=status, attempt=1)
    item.save()
    return item.video_id


def add_chapter(user: Any, course_id: str, title: str = "Chapter") -> str:
    from chalicelib.courses.schemas import ChapterCreate

    return _svc().add_chapter(user, course_id, ChapterCreate(title=title)).chapters[-1].chapter_id


def attach(user: Any, course_id: str, chapter_id: str, video_id: str) -> None:
    from chalicelib.courses.schemas import ChapterVideoAdd

    _svc().add_video(user, course_id, chapter_id, ChapterVideoAdd(video_id=video_id))


def publishable(user: Any, **fields: Any) -> str:
    course_id = new_course(user, **fields)
    attach(user, course_id, add_chapter(user, course_id), video(user))
    return course_id


def counts(category_id: str, tag_id: str) -> tuple[int, int]:
    return int(stored_category(category_id).course_count), int(stored_tag(tag_id).usage_count)


@pytest.fixture
def admin(people):
    return people.create("admin")


@pytest.fixture
def tutor(people):
    return people.create("tutor")


@pytest.fixture
def tag(admin):
    from chalicelib.courses.schemas import TagCreate

    return _svc().create_tag(admin, TagCreate(name="Rules", type="goal", colour="#abcdef")).tag_id


# ---------------------------------------------------------------- the tree


def test_a_moved_subtree_carries_every_path_and_level_below_it(admin):
    from chalicelib.courses.schemas import CategoryMove

    # GIVEN r1 -> a -> b -> c and a second root r2 -> d
    r1 = category(admin, "R1")
    a = category(admin, "A", r1)
    b = category(admin, "B", a)
    c = category(admin, "C", b)
    r2 = category(admin, "R2")
    d = category(admin, "D", r2)

    # WHEN a moves under d
    _svc().move_category(admin, a, CategoryMove(parent_id=d))

    # THEN a, b and c have new paths and levels, read back from the table
    assert stored_category(a).path == f"/{r2}/{d}/{a}/" and int(stored_category(a).level) == 2
    assert stored_category(c).path == f"/{r2}/{d}/{a}/{b}/{c}/" and int(stored_category(c).level) == 4
    assert stored_category(a).parent_id == d
    # AND the categories outside the subtree are untouched
    assert stored_category(r1).path == f"/{r1}/" and stored_category(d).path == f"/{r2}/{d}/"
    # AND the subtree ids follow the new paths
    assert set(_svc().subtree_ids(r2)) == {r2, d, a, b, c}
    assert _svc().subtree_ids(r1) == [r1]


def test_moving_under_a_descendant_is_refused_and_changes_nothing(admin):
    from chalicelib.core.errors import Conflict
    from chalicelib.courses.schemas import CategoryMove

    a = category(admin, "A")
    b = category(admin, "B", a)
    c = category(admin, "C", b)
    before = {i: stored_category(i).attribute_values for i in (a, b, c)}
    for target in (a, b, c):
        with pytest.raises(Conflict) as refused:
            _svc().move_category(admin, a, CategoryMove(parent_id=target))
        assert refused.value.code == "category_cycle"
    assert {i: stored_category(i).attribute_values for i in (a, b, c)} == before


def test_only_platform_admins_shape_the_tree(admin, tutor):
    from chalicelib.core.errors import Forbidden
    from chalicelib.courses.schemas import CategoryCreate, CategoryMove

    a = category(admin, "A")
    with pytest.raises(Forbidden):
        _svc().create_category(tutor, CategoryCreate(name="Mine"))
    with pytest.raises(Forbidden):
        _svc().move_category(tutor, a, CategoryMove(parent_id=None))


# ---------------------------------------------------------------- counters follow the listing


def test_counters_follow_publish_unpublish_delete_and_restore(admin, tutor, tag):
    svc = _svc()
    cat = category(admin, "Counted")
    course_id = publishable(tutor, category_id=cat, tag_ids=[tag])
    assert counts(cat, tag) == (0, 0)  # a draft is not counted

    svc.publish(tutor, course_id)
    assert counts(cat, tag) == (1, 1)
    assert stored_course(course_id).listing == "PUBLISHED"

    svc.publish(tutor, course_id)  # publishing again changes nothing
    assert counts(cat, tag) == (1, 1)

    svc.unpublish(tutor, course_id)
    assert counts(cat, tag) == (0, 0) and stored_course(course_id).listing is None

    svc.publish(tutor, course_id)
    svc.delete_course(tutor, course_id)
    svc.delete_course(tutor, course_id)  # twice: counted down once
    assert counts(cat, tag) == (0, 0) and stored_course(course_id).deleted is True

    svc.restore_course(admin, course_id)
    assert counts(cat, tag) == (1, 1) and stored_course(course_id).listing == "PUBLISHED"


def test_recategorizing_a_published_course_moves_its_count(admin, tutor, tag):
    from chalicelib.courses.schemas import CourseUpdate

    first, second = category(admin, "First"), category(admin, "Second")
    course_id = publishable(tutor, category_id=first, tag_ids=[tag])
    _svc().publish(tutor, course_id)

    _svc().update_course(tutor, course_id, CourseUpdate(category_id=second, tag_ids=[]))

    assert int(stored_category(first).course_count) == 0
    assert int(stored_category(second).course_count) == 1
    assert int(stored_tag(tag).usage_count) == 0


# ---------------------------------------------------------------- publishing


def test_publish_lists_every_unmet_condition(tutor):
    from chalicelib.core.errors import Conflict
    from chalicelib.courses.models import Course

    # GIVEN a course with no description, whose chapter holds a failed video and a missing one
    course_id = new_course(tutor, description="")
    chapter_id = add_chapter(tutor, course_id)
    failed = video(tutor, status="FAILED")
    attach(tutor, course_id, chapter_id, failed)
    gone = video(tutor)
    attach(tutor, course_id, chapter_id, gone)
    from chalicelib.video.models import Video

    Video.get(gone).delete()

    # WHEN it is published
    with pytest.raises(Conflict) as refused:
        _svc().publish(tutor, course_id)

    # THEN each unmet condition is listed, and the course stays a draft
    assert refused.value.code == "publish_conditions_unmet"
    unmet = refused.value.details["unmet"]
    assert [(u["condition"], u.get("video_id"), u.get("status")) for u in unmet] == [
        ("description", None, None),
        ("video_ready", failed, "FAILED"),
        ("video_ready", gone, "MISSING"),
    ]
    assert stored_course(course_id).status == "draft"
    assert _svc().publish_conditions(Course.get_or_none(course_id)) == unmet


def test_a_course_without_chapters_cannot_be_published(tutor):
    from chalicelib.core.errors import Conflict

    course_id = new_course(tutor)
    with pytest.raises(Conflict) as refused:
        _svc().publish(tutor, course_id)
    assert [u["condition"] for u in refused.value.details["unmet"]] == ["chapters"]


# ---------------------------------------------------------------- concurrency


def test_concurrent_chapter_additions_are_never_lost(tutor):
    from chalicelib.core.errors import Conflict
    from chalicelib.courses.schemas import ChapterCreate

    course_id = new_course(tutor)

    def add(i: int) -> str:
        try:
            _svc().add_chapter(tutor, course_id, ChapterCreate(title=f"Chapter {i}"))
            return "added"
        except Conflict as exc:
            assert exc.code == "concurrent_change"
            return "refused"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(add, range(8)))

    stored = stored_course(course_id).chapters
    assert outcomes.count("added") >= 1
    assert len(stored) == outcomes.count("added")
    assert int(stored_course(course_id).version) == 1 + outcomes.count("added")


# ---------------------------------------------------------------- who manages


def test_org_admins_manage_their_orgs_courses_members_do_not(people):
    from chalicelib.core.errors import Forbidden, NotFound
    from chalicelib.courses.schemas import CourseUpdate
    from chalicelib.orgs import service as orgs
    from chalicelib.orgs.schemas import OrgCreate

    owner, org_admin, member, outsider = (people.create() for _ in range(4))
    org_id = orgs.create_org(owner, OrgCreate(name="Course org")).org_id
    join_org(org_id, org_admin, "admin", by=owner)
    join_org(org_id, member, by=owner)

    # GIVEN a course of the org created by its owner (a student on the platform)
    course_id = new_course(owner, org_id=org_id)

    # THEN the org's admin may edit it; a member and an outsider may not even see the draft
    _svc().update_course(org_admin, course_id, CourseUpdate(title="Edited by an org admin"))
    assert stored_course(course_id).title == "Edited by an org admin"
    for who in (member, outsider):
        with pytest.raises(NotFound):
            _svc().update_course(who, course_id, CourseUpdate(title="No"))
    # AND a plain member cannot create a course for the org, nor a student one of their own
    with pytest.raises(Forbidden):
        new_course(member, org_id=org_id)
    with pytest.raises(Forbidden):
        new_course(member)
