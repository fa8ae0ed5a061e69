"""The course catalog through HTTP -> app -> pynamodb -> the emulator.

Covers the category tree (create, one-call listing, moving a subtree and refusing a cycle),
tags, who may create and change a course, chapters and videos (attach, reorder), the
publish checklist (each unmet condition listed), soft delete and restore, and the public
listing (filters, the category subtree, cursor pagination). A READY video is written
straight through the video model, as the pipeline would leave it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from chalicelib.video.models import Video
from tests.fixtures.accounts import Account, Accounts

# ---------------------------------------------------------------- helpers


@dataclass
class World:
    admin: Account
    tutor: Account
    other_tutor: Account
    student: Account
    org_owner: Account
    org_member: Account
    org_id: str


@pytest.fixture(scope="module")
def world(api) -> World:
    accounts = Accounts(api)
    admin, tutor, other_tutor = accounts.create("admin"), accounts.create("tutor"), accounts.create("tutor")
    student, org_owner, org_member = accounts.create(), accounts.create(), accounts.create("tutor")
    org_id = api.post("/orgs", json={"name": "Course org"}, headers=org_owner.headers).json()["org_id"]
    accounts.join(org_id, org_member, by=org_owner)
    return World(admin, tutor, other_tutor, student, org_owner, org_member, org_id)


def ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json() if response.text else None


def category(api, admin, name, parent_id=None, order=0):
    body = {"name": name, "order": order, **({"parent_id": parent_id} if parent_id else {})}
    return ok(api.post("/categories", json=body, headers=admin.headers), 201)


def tree(api):
    return {c["category_id"]: c for c in ok(api.get("/categories"))["items"]}


def ready_video(owner: Account, status: str = "READY") -> str:
    video = Video(str(uuid.uuid4()), owner_id=owner.user_id, title="Clip", status=status, attempt=1)
    video.save()
    return video.video_id


def new_course(api, who, **fields):
    body = {"title": "Intro to Things", "description": "All about things.", **fields}
    return ok(api.post("/courses", json=body, headers=who.headers), 201)


def published_course(api, who, **fields):
    course = new_course(api, who, **fields)
    cid = course["course_id"]
    chapter = ok(api.post(f"/courses/{cid}/chapters", json={"title": "One"}, headers=who.headers), 201)
    chapter_id = chapter["chapters"][0]["chapter_id"]
    video_id = ready_video(who)
    ok(
        api.post(f"/courses/{cid}/chapters/{chapter_id}/videos", json={"video_id": video_id}, headers=who.headers),
        201,
    )
    return ok(api.post(f"/courses/{cid}/publish", headers=who.headers))


def listing(api, **params):
    return ok(api.get("/courses", params=params))


def all_pages(api, **params):
    ids, cursor = [], None
    while True:
        page = listing(api, **params, **({"cursor": cursor} if cursor else {}))
        ids += [c["course_id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


# ---------------------------------------------------------------- categories and tags


def test_category_tree_is_listed_in_one_call_with_levels_and_paths(api, world):
    # GIVEN a root with two children (ordered) and a grandchild
    root = category(api, world.admin, "Science")
    physics = category(api, world.admin, "Physics", root["category_id"], order=2)
    biology = category(api, world.admin, "Biology", root["category_id"], order=1)
    cells = category(api, world.admin, "Cells", biology["category_id"])

    # WHEN anyone lists the tree
    items = ok(api.get("/categories"))["items"]

    # THEN it is depth first, siblings by order, with parent, level and path
    ids = [c["category_id"] for c in items]
    sub = [
        i
        for i in ids
        if i in {root["category_id"], physics["category_id"], biology["category_id"], cells["category_id"]}
    ]
    assert sub == [root["category_id"], biology["category_id"], cells["category_id"], physics["category_id"]]
    by_id = {c["category_id"]: c for c in items}
    assert by_id[cells["category_id"]]["level"] == 2
    assert by_id[cells["category_id"]]["parent_id"] == biology["category_id"]
    assert (
        by_id[cells["category_id"]]["path"]
        == f"/{root['category_id']}/{biology['category_id']}/{cells['category_id']}/"
    )
    assert by_id[root["category_id"]]["active"] is True and by_id[root["category_id"]]["course_count"] == 0


def test_only_platform_admins_create_categories_and_tags(api, world):
    for who in (world.tutor, world.student, world.org_owner):
        r = api.post("/categories", json={"name": "Nope"}, headers=who.headers)
        assert r.status_code == 403 and r.json()["error"]["code"] == "platform_admin_only"
        r = api.post("/tags", json={"name": "Nope"}, headers=who.headers)
        assert r.status_code == 403
    assert api.post("/categories", json={"name": "Nope"}).status_code == 401
    missing = api.post(
        "/categories", json={"name": "Orphan", "parent_id": str(uuid.uuid4())}, headers=world.admin.headers
    )
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "category_not_found"


def test_moving_a_subtree_rewrites_paths_and_levels_below_it(api, world):
    # GIVEN a -> b -> c, and a separate root d
    a = category(api, world.admin, "A")
    b = category(api, world.admin, "B", a["category_id"])
    c = category(api, world.admin, "C", b["category_id"])
    d = category(api, world.admin, "D")

    # WHEN b moves under d
    moved = ok(
        api.post(
            f"/categories/{b['category_id']}/move", json={"parent_id": d["category_id"]}, headers=world.admin.headers
        )
    )

    # THEN b and its child c follow, with new paths and levels
    assert moved["parent_id"] == d["category_id"] and moved["level"] == 1
    after = tree(api)
    assert after[c["category_id"]]["path"] == f"/{d['category_id']}/{b['category_id']}/{c['category_id']}/"
    assert after[c["category_id"]]["level"] == 2

    # WHEN b moves to the top
    top = ok(api.post(f"/categories/{b['category_id']}/move", json={"parent_id": None}, headers=world.admin.headers))
    # THEN it is a root, and c one level below it
    assert top["parent_id"] is None and top["level"] == 0 and top["path"] == f"/{b['category_id']}/"
    assert tree(api)[c["category_id"]]["level"] == 1


def test_a_category_cannot_move_under_itself_or_its_descendant(api, world):
    a = category(api, world.admin, "Outer")
    b = category(api, world.admin, "Inner", a["category_id"])
    before = tree(api)
    for target in (a["category_id"], b["category_id"]):
        r = api.post(f"/categories/{a['category_id']}/move", json={"parent_id": target}, headers=world.admin.headers)
        assert r.status_code == 409 and r.json()["error"]["code"] == "category_cycle"
    assert tree(api)[b["category_id"]] == before[b["category_id"]]
    r = api.post(f"/categories/{a['category_id']}/move", json={"parent_id": None}, headers=world.tutor.headers)
    assert r.status_code == 403


def test_tags_have_a_type_and_a_colour(api, world):
    tag = ok(
        api.post("/tags", json={"name": "Exam prep", "type": "goal", "colour": "#12AB34"}, headers=world.admin.headers),
        201,
    )
    assert tag["type"] == "goal" and tag["colour"] == "#12ab34" and tag["usage_count"] == 0
    assert tag["tag_id"] in {t["tag_id"] for t in ok(api.get("/tags"))["items"]}
    bad = api.post("/tags", json={"name": "X", "type": "mood", "colour": "red"}, headers=world.admin.headers)
    assert bad.status_code == 400


# ---------------------------------------------------------------- courses


def test_tutors_and_admins_create_courses_students_do_not(api, world):
    course = new_course(api, world.tutor, level="advanced", price_cents=1999, currency="EUR", is_free=False)
    assert course["status"] == "draft" and course["instructor_id"] == world.tutor.user_id
    assert course["price_cents"] == 1999 and course["chapters"] == []
    assert new_course(api, world.admin)["status"] == "draft"
    r = api.post("/courses", json={"title": "Mine"}, headers=world.student.headers)
    assert r.status_code == 403 and r.json()["error"]["code"] == "tutors_only"
    assert api.post("/courses", json={"title": "Mine"}).status_code == 401


def test_org_courses_are_created_by_org_admins_only(api, world):
    course = new_course(api, world.org_owner, org_id=world.org_id)
    assert course["org_id"] == world.org_id
    r = api.post("/courses", json={"title": "Mine", "org_id": world.org_id}, headers=world.org_member.headers)
    assert r.status_code == 403 and r.json()["error"]["code"] == "insufficient_org_role"
    r = api.post("/courses", json={"title": "Mine", "org_id": world.org_id}, headers=world.tutor.headers)
    assert r.status_code == 404


def test_who_may_update_a_course(api, world):
    own = new_course(api, world.tutor)
    cid = own["course_id"]
    # the instructor and platform admins may; another tutor may not even see the draft
    assert (
        ok(api.patch(f"/courses/{cid}", json={"title": "Renamed"}, headers=world.tutor.headers))["title"] == "Renamed"
    )
    assert (
        ok(api.patch(f"/courses/{cid}", json={"level": "intermediate"}, headers=world.admin.headers))["level"]
        == "intermediate"
    )
    r = api.patch(f"/courses/{cid}", json={"title": "Stolen"}, headers=world.other_tutor.headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "course_not_found"

    # an org course: its org's admins may change it, plain members may not
    org_course = new_course(api, world.org_owner, org_id=world.org_id)
    ocid = org_course["course_id"]
    admin_of_org = Accounts(api).create()
    Accounts(api).join(world.org_id, admin_of_org, "admin", by=world.org_owner)
    assert (
        ok(api.patch(f"/courses/{ocid}", json={"description": "By org admin"}, headers=admin_of_org.headers))[
            "description"
        ]
        == "By org admin"
    )
    assert api.patch(f"/courses/{ocid}", json={"title": "X"}, headers=world.org_member.headers).status_code == 404

    # once published, others see it but may not change it (403)
    pub = published_course(api, world.tutor)
    r = api.patch(f"/courses/{pub['course_id']}", json={"title": "Stolen"}, headers=world.other_tutor.headers)
    assert r.status_code == 403


def test_chapters_and_videos_are_added_and_reordered(api, world):
    cid = new_course(api, world.tutor)["course_id"]
    for title in ("First", "Second", "Third"):
        ok(
            api.post(
                f"/courses/{cid}/chapters",
                json={"title": title, "is_free": title == "First"},
                headers=world.tutor.headers,
            ),
            201,
        )
    course = ok(api.get(f"/courses/{cid}/manage", headers=world.tutor.headers))
    ids = [c["chapter_id"] for c in course["chapters"]]
    assert [c["title"] for c in course["chapters"]] == ["First", "Second", "Third"]
    assert course["chapters"][0]["is_free"] is True and course["chapters"][1]["is_locked"] is False

    reordered = ok(
        api.put(f"/courses/{cid}/chapters/order", json={"chapter_ids": ids[::-1]}, headers=world.tutor.headers)
    )
    assert [c["title"] for c in reordered["chapters"]] == ["Third", "Second", "First"]
    r = api.put(f"/courses/{cid}/chapters/order", json={"chapter_ids": ids[:2]}, headers=world.tutor.headers)
    assert r.status_code == 400 and r.json()["error"]["code"] == "order_mismatch"

    v1, v2 = ready_video(world.tutor), ready_video(world.tutor)
    path = f"/courses/{cid}/chapters/{ids[0]}/videos"
    ok(api.post(path, json={"video_id": v1, "is_free": True}, headers=world.tutor.headers), 201)
    added = ok(
        api.post(
            path,
            json={"video_id": v2, "trial_seconds": 30, "members_only": True},
            headers=world.tutor.headers,
        ),
        201,
    )
    chapter = next(c for c in added["chapters"] if c["chapter_id"] == ids[0])
    assert [v["video_id"] for v in chapter["videos"]] == [v1, v2]
    assert chapter["videos"][1] | {} == {
        "video_id": v2,
        "title": None,
        "is_free": False,
        "is_trial": True,
        "trial_seconds": 30,
        "members_only": True,
    }
    again = api.post(path, json={"video_id": v1}, headers=world.tutor.headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "video_already_attached"
    swapped = ok(api.put(f"{path}/order", json={"video_ids": [v2, v1]}, headers=world.tutor.headers))
    chapter = next(c for c in swapped["chapters"] if c["chapter_id"] == ids[0])
    assert [v["video_id"] for v in chapter["videos"]] == [v2, v1]


def test_only_the_owner_of_a_video_may_attach_it(api, world):
    cid = new_course(api, world.tutor)["course_id"]
    chapter_id = ok(api.post(f"/courses/{cid}/chapters", json={"title": "C"}, headers=world.tutor.headers), 201)[
        "chapters"
    ][0]["chapter_id"]
    path = f"/courses/{cid}/chapters/{chapter_id}/videos"
    others = ready_video(world.other_tutor)
    r = api.post(path, json={"video_id": others}, headers=world.tutor.headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "video_not_found"
    r = api.post(path, json={"video_id": str(uuid.uuid4())}, headers=world.tutor.headers)
    assert r.status_code == 404
    r = api.post(path, json={"video_id": ready_video(world.tutor), "trial_seconds": 0}, headers=world.tutor.headers)
    assert r.status_code == 400


def test_publish_lists_every_unmet_condition(api, world):
    # GIVEN a course without description and chapters
    cid = new_course(api, world.tutor, description="")["course_id"]

    # WHEN it is published
    r = api.post(f"/courses/{cid}/publish", headers=world.tutor.headers)

    # THEN 409 names both missing things
    assert r.status_code == 409 and r.json()["error"]["code"] == "publish_conditions_unmet"
    assert {u["condition"] for u in r.json()["error"]["details"]["unmet"]} == {"description", "chapters"}

    # GIVEN a chapter with a video still processing, and a description
    chapter_id = ok(api.post(f"/courses/{cid}/chapters", json={"title": "C"}, headers=world.tutor.headers), 201)[
        "chapters"
    ][0]["chapter_id"]
    processing = ready_video(world.tutor, status="PROCESSING")
    ok(
        api.post(
            f"/courses/{cid}/chapters/{chapter_id}/videos", json={"video_id": processing}, headers=world.tutor.headers
        ),
        201,
    )
    ok(api.patch(f"/courses/{cid}", json={"description": "Now described."}, headers=world.tutor.headers))
    r = api.post(f"/courses/{cid}/publish", headers=world.tutor.headers)
    assert r.status_code == 409
    assert r.json()["error"]["details"]["unmet"] == [
        {
            "condition": "video_ready",
            "message": "Every video must be READY.",
            "video_id": processing,
            "status": "PROCESSING",
        }
    ]
    assert api.get(f"/courses/{cid}").status_code == 404

    # WHEN the video becomes READY
    video = Video.get(processing)
    video.update(actions=[Video.status.set("READY")])
    published = ok(api.post(f"/courses/{cid}/publish", headers=world.tutor.headers))

    # THEN the course is published and public
    assert published["status"] == "published" and published["published_at"]
    assert ok(api.get(f"/courses/{cid}"))["chapters"][0]["videos"][0]["video_id"] == processing


def test_unpublish_soft_delete_and_restore(api, world):
    course = published_course(api, world.tutor)
    cid = course["course_id"]
    instructor = {"instructor_id": world.tutor.user_id}
    assert cid in all_pages(api, **instructor)

    # unpublished: not public, still managed
    assert ok(api.post(f"/courses/{cid}/unpublish", headers=world.tutor.headers))["status"] == "draft"
    assert api.get(f"/courses/{cid}").status_code == 404 and cid not in all_pages(api, **instructor)
    ok(api.post(f"/courses/{cid}/publish", headers=world.tutor.headers))

    # soft-deleted: hidden from the listing and the detail, refused changes, visible to its manager
    assert api.delete(f"/courses/{cid}", headers=world.other_tutor.headers).status_code == 403
    assert api.delete(f"/courses/{cid}", headers=world.tutor.headers).status_code == 204
    assert api.get(f"/courses/{cid}").status_code == 404 and cid not in all_pages(api, **instructor)
    assert ok(api.get(f"/courses/{cid}/manage", headers=world.tutor.headers))["deleted"] is True
    r = api.patch(f"/courses/{cid}", json={"title": "X"}, headers=world.tutor.headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "course_deleted"
    assert api.post(f"/courses/{cid}/restore", headers=world.other_tutor.headers).status_code == 404

    # restored by an admin: back in the catalog, published as before
    restored = ok(api.post(f"/courses/{cid}/restore", headers=world.admin.headers))
    assert restored["deleted"] is False and restored["status"] == "published"
    assert cid in all_pages(api, **instructor) and ok(api.get(f"/courses/{cid}"))["course_id"] == cid


# ---------------------------------------------------------------- listing


def test_listing_filters_and_the_category_subtree(api, world):
    # GIVEN a category with a subcategory, a tag, and published courses in them
    parent = category(api, world.admin, "Languages")
    child = category(api, world.admin, "French", parent["category_id"])
    tag = ok(api.post("/tags", json={"name": "Beginner friendly", "type": "level"}, headers=world.admin.headers), 201)
    in_parent = published_course(api, world.tutor, category_id=parent["category_id"], level="beginner")
    in_child = published_course(
        api,
        world.other_tutor,
        category_id=child["category_id"],
        tag_ids=[tag["tag_id"]],
        level="advanced",
        is_free=False,
        price_cents=500,
    )
    org_course = published_course(api, world.org_owner, category_id=child["category_id"], org_id=world.org_id)
    draft = new_course(api, world.tutor, category_id=child["category_id"])

    # THEN the category filter includes subcategories, newest first, drafts never
    assert all_pages(api, category_id=parent["category_id"]) == [
        org_course["course_id"],
        in_child["course_id"],
        in_parent["course_id"],
    ]
    assert all_pages(api, category_id=child["category_id"]) == [org_course["course_id"], in_child["course_id"]]
    assert draft["course_id"] not in all_pages(api, category_id=child["category_id"])
    # and every other filter narrows it
    scoped = {"category_id": parent["category_id"]}
    assert all_pages(api, **scoped, tag_id=tag["tag_id"]) == [in_child["course_id"]]
    assert all_pages(api, **scoped, level="advanced") == [in_child["course_id"]]
    assert all_pages(api, **scoped, is_free="false") == [in_child["course_id"]]
    assert all_pages(api, **scoped, instructor_id=world.tutor.user_id) == [in_parent["course_id"]]
    assert all_pages(api, **scoped, org_id=world.org_id) == [org_course["course_id"]]

    # and counts follow publishing: the tree and the tags show them
    after = tree(api)
    assert (
        after[child["category_id"]]["course_count"] == 2 and after[parent["category_id"]]["subtree_course_count"] == 3
    )
    assert {t["tag_id"]: t for t in ok(api.get("/tags"))["items"]}[tag["tag_id"]]["usage_count"] == 1


def test_listing_pages_with_cursors_newest_first(api, world, accounts):
    # GIVEN an instructor with five published courses
    tutor = accounts.create("tutor")
    made = [published_course(api, tutor, title=f"Course {i}")["course_id"] for i in range(5)]

    # WHEN the listing is read two at a time
    first = listing(api, instructor_id=tutor.user_id, limit=2)
    ids = all_pages(api, instructor_id=tutor.user_id, limit=2)

    # THEN every course comes once, newest first, and the first page is full with a cursor
    assert len(first["items"]) == 2 and first["next_cursor"]
    assert ids == made[::-1]
    # a cursor of another listing is refused
    r = api.get("/courses", params={"cursor": "eyJ4Ijp7IlMiOiJ5In19"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_cursor"
