"""The course catalog: categories (a tree), tags, courses with chapters and videos.

Invariants:
- a category's `path` is its parent's path plus its own id, `level` its depth; moving a
  subtree rewrites every path and level under it in one transaction, and a category is never
  moved under itself or one of its descendants (409 category_cycle);
- a course is *listed* (in the public catalog, counted in its category's `course_count` and
  its tags' `usage_count`) exactly while it is published and not deleted: the change of
  status and the counters move in the same transaction;
- chapters and videos change by a write conditioned on the course's version (409
  concurrent_change when someone changed it first);
- publishing requires a title, a description, at least one chapter and every attached video
  READY (the video capability answers); else 409 publish_conditions_unmet listing each.
  (Cover images and review before publishing are not part of this slice.)
"""

from __future__ import annotations

import uuid
from typing import Any

from chalicelib.core import access, pagination
from chalicelib.core.access import Principal
from chalicelib.core.dynamo import save_if, transaction, update_if, utcnow
from chalicelib.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from chalicelib.core.observability import logger
from chalicelib.core.roles import ORG_ADMIN, TUTOR
from chalicelib.courses import policy
from chalicelib.courses.models import Category, Course, Tag
from chalicelib.courses.schemas import (
    CategoryCreate,
    CategoryMove,
    CategoryOut,
    CategoryTree,
    ChapterCreate,
    ChapterOrder,
    ChapterOut,
    ChapterVideoAdd,
    ChapterVideoOut,
    CourseCreate,
    CourseDetail,
    CourseListQuery,
    CourseOut,
    CoursesPage,
    CourseUpdate,
    TagCreate,
    TagList,
    TagOut,
    VideoOrder,
)
from chalicelib.video import service as videos

PUBLISHED = "published"
DRAFT = "draft"
READY = "READY"
MAX_CATEGORIES = 500


def _concurrent() -> Conflict:
    return Conflict("The course was changed meanwhile; reload and retry.", code="concurrent_change")


def _admins_only(user: Principal, what: str) -> None:
    if not access.is_platform_admin(user):
        raise Forbidden(f"Only platform admins may {what}.", code="platform_admin_only")


# ---------------------------------------------------------------- categories


def category_not_found(category_id: str) -> NotFound:
    return NotFound("No such category.", code="category_not_found", details={"category_id": category_id})


def _all_categories() -> list[Category]:
    """The whole tree: one Query of the CATEGORIES partition (small by design)."""
    return list(Category.query(Category.partition(), consistent_read=True, limit=MAX_CATEGORIES))


def create_category(user: Principal, body: CategoryCreate) -> CategoryOut:
    _admins_only(user, "create categories")
    category_id = str(uuid.uuid4())
    if body.parent_id is None:
        level, path = 0, f"/{category_id}/"
    else:
        parent = Category.get_or_none(body.parent_id, consistent_read=True)
        if parent is None:
            raise category_not_found(body.parent_id)
        level, path = int(parent.level) + 1, f"{parent.path}{category_id}/"
    category = Category.new(
        category_id,
        name=body.name,
        parent_id=body.parent_id,
        level=level,
        path=path,
        order=body.order,
        active=body.active,
    )
    condition = Category.pk.does_not_exist()
    if body.parent_id is None:
        category.save(condition=condition)
    else:
        # The parent must still be where it was read (not moved or deleted meanwhile).
        with transaction(Conflict("The parent category changed meanwhile; retry.", code="concurrent_change")) as tx:
            tx.save(category, condition=condition)
            tx.update(
                Category.ref(body.parent_id),
                [Category.order.set(Category.order)],
                condition=Category.path == parent.path,
            )
    logger.info("category created", extra={"category_id": category_id})
    return _category_out(category, {category.category_id: category})


def list_categories() -> CategoryTree:
    categories = _all_categories()
    by_id = {c.category_id: c for c in categories}
    children: dict[str | None, list[Category]] = {}
    for c in categories:
        children.setdefault(c.parent_id if c.parent_id in by_id else None, []).append(c)
    ordered: list[Category] = []

    def walk(parent: str | None) -> None:
        for c in sorted(children.get(parent, []), key=lambda c: (int(c.order), c.name, c.category_id)):
            ordered.append(c)
            walk(c.category_id)

    walk(None)
    return CategoryTree(items=[_category_out(c, by_id) for c in ordered])


def move_category(user: Principal, category_id: str, body: CategoryMove) -> CategoryOut:
    _admins_only(user, "move categories")
    categories = {c.category_id: c for c in _all_categories()}
    moved = categories.get(category_id)
    if moved is None:
        raise category_not_found(category_id)
    if body.parent_id is None:
        new_parent_path, new_level = "/", 0
    else:
        parent = categories.get(body.parent_id)
        if parent is None:
            raise category_not_found(body.parent_id)
        if parent.path.startswith(moved.path):
            raise Conflict(
                "A category cannot move under itself or one of its subcategories.",
                code="category_cycle",
                details={"category_id": category_id, "parent_id": body.parent_id},
            )
        new_parent_path, new_level = parent.path, int(parent.level) + 1
    new_path = f"{new_parent_path}{category_id}/"
    shift = new_level - int(moved.level)
    subtree = [c for c in categories.values() if c.path.startswith(moved.path)]
    if len(subtree) > 99:
        raise Conflict("This subtree is too large to move in one step.", code="subtree_too_large")
    with transaction(Conflict("The category tree changed meanwhile; retry.", code="concurrent_change")) as tx:
        for c in subtree:
            actions = [
                Category.path.set(new_path + c.path[len(moved.path) :]),
                Category.level.set(int(c.level) + shift),
            ]
            if c.category_id == category_id:
                actions.append(
                    Category.parent_id.set(body.parent_id) if body.parent_id else Category.parent_id.remove()
                )
                if body.order is not None:
                    actions.append(Category.order.set(body.order))
            tx.update(Category.ref(c.category_id), actions, condition=Category.path == c.path)
        if body.parent_id is not None:
            # The new parent must still be where it was read.
            tx.update(
                Category.ref(body.parent_id),
                [Category.order.set(Category.order)],
                condition=Category.path == categories[body.parent_id].path,
            )
    logger.info("category moved", extra={"category_id": category_id, "parent_id": body.parent_id})
    after = {c.category_id: c for c in _all_categories()}
    return _category_out(after[category_id], after)


def subtree_ids(category_id: str) -> list[str]:
    categories = _all_categories()
    root = next((c for c in categories if c.category_id == category_id), None)
    if root is None:
        return []
    return [c.category_id for c in categories if c.path.startswith(root.path)]


def _category_out(category: Category, by_id: dict[str, Category]) -> CategoryOut:
    subtree = sum(int(c.course_count) for c in by_id.values() if c.path.startswith(category.path))
    return CategoryOut(
        category_id=category.category_id,
        name=category.name,
        parent_id=category.parent_id,
        level=int(category.level),
        path=category.path,
        order=int(category.order),
        active=bool(category.active),
        course_count=int(category.course_count),
        subtree_course_count=subtree,
    )


# ---------------------------------------------------------------- tags


def create_tag(user: Principal, body: TagCreate) -> TagOut:
    _admins_only(user, "create tags")
    tag = Tag.new(str(uuid.uuid4()), name=body.name, type=body.type, colour=body.colour.lower())
    tag.save(condition=Tag.pk.does_not_exist())
    return _tag_out(tag)


def list_tags() -> TagList:
    tags = sorted(Tag.query(Tag.partition(), limit=MAX_CATEGORIES), key=lambda t: (t.type, t.name, t.tag_id))
    return TagList(items=[_tag_out(t) for t in tags])


def _tag_out(tag: Tag) -> TagOut:
    return TagOut(tag_id=tag.tag_id, name=tag.name, type=tag.type, colour=tag.colour, usage_count=int(tag.usage_count))


def _check_refs(category_id: str | None, tag_ids: list[str] | None) -> None:
    if category_id is not None and Category.get_or_none(category_id) is None:
        raise category_not_found(category_id)
    if tag_ids:
        found = {t.tag_id for t in Tag.batch_get([Tag.key(t) for t in set(tag_ids)])}
        missing = sorted(set(tag_ids) - found)
        if missing:
            raise NotFound("No such tag.", code="tag_not_found", details={"tag_ids": missing})


# ---------------------------------------------------------------- courses


def course_not_found(course_id: str) -> NotFound:
    return NotFound("No such course.", code="course_not_found", details={"course_id": course_id})


def _listed(course: Course) -> bool:
    return course.status == PUBLISHED and not course.deleted


def _load(course_id: str) -> Course:
    course = Course.get_or_none(course_id, consistent_read=True)
    if course is None:
        raise course_not_found(course_id)
    return course


def _load_managed(user: Principal, course_id: str) -> Course:
    """The course, if the caller may manage it; 404 when they may not even see it."""
    course = _load(course_id)
    if not access.allows(policy.MANAGE, user, course):
        if _listed(course):
            raise Forbidden("Only the course's instructor, its org's admins or platform admins may change it.")
        raise course_not_found(course_id)
    return course


def create_course(user: Principal, body: CourseCreate) -> CourseDetail:
    if body.org_id is not None:
        access.require("orgs.role", user, body.org_id, ORG_ADMIN)
    elif user.role != TUTOR and not access.is_platform_admin(user):
        raise Forbidden("Only tutors and platform admins may create courses.", code="tutors_only")
    _check_refs(body.category_id, body.tag_ids)
    course_id = str(uuid.uuid4())
    course = Course.new(
        course_id,
        title=body.title,
        description=body.description,
        type=body.type,
        category_id=body.category_id,
        tag_ids=list(dict.fromkeys(body.tag_ids)),
        level=body.level,
        price_cents=body.price_cents,
        currency=body.currency,
        is_free=body.is_free,
        instructor_id=user.user_id,
        org_id=body.org_id,
        status=DRAFT,
        chapters=[],
    )
    if not save_if(course, Course.pk.does_not_exist()):
        raise Conflict("The course could not be created; retry.", code="concurrent_change")
    logger.info("course created", extra={"course_id": course_id})
    return course_detail(course)


def get_published(course_id: str) -> CourseDetail:
    course = Course.get_or_none(course_id)
    if course is None or not _listed(course):
        raise course_not_found(course_id)
    return course_detail(course)


def get_managed(user: Principal, course_id: str) -> CourseDetail:
    return course_detail(_load_managed(user, course_id))


def update_course(user: Principal, course_id: str, body: CourseUpdate) -> CourseDetail:
    course = _load_managed(user, course_id)
    if course.deleted:
        raise _deleted(course_id)
    fields = body.model_dump(exclude_unset=True)
    _check_refs(fields.get("category_id"), fields.get("tag_ids"))
    if "tag_ids" in fields:
        fields["tag_ids"] = list(dict.fromkeys(fields["tag_ids"]))
    actions = [getattr(Course, name).set(value) for name, value in fields.items()]
    actions.append(Course.updated_at.set(utcnow()))
    if _listed(course) and ("category_id" in fields or "tag_ids" in fields):
        _write_listing_change(
            course,
            actions,
            listed_after=True,
            category_id=fields.get("category_id", course.category_id),
            tag_ids=fields.get("tag_ids", course.tag_ids),
        )
    elif not update_if(course, actions, Course.version == course.version):
        raise _concurrent()
    return course_detail(_load(course_id))


def _deleted(course_id: str) -> Conflict:
    return Conflict("The course is deleted; restore it first.", code="course_deleted", details={"course_id": course_id})


# ---------------------------------------------------------------- chapters and videos


def _chapters(course: Course) -> list[dict[str, Any]]:
    return [dict(c, videos=[dict(v) for v in c.get("videos", [])]) for c in (course.chapters or [])]


def _save_chapters(course: Course, chapters: list[dict[str, Any]]) -> Course:
    actions = [Course.chapters.set(chapters), Course.updated_at.set(utcnow())]
    if not update_if(course, actions, Course.version == course.version):
        raise _concurrent()
    return _load(course.course_id)


def _editable(user: Principal, course_id: str) -> Course:
    course = _load_managed(user, course_id)
    if course.deleted:
        raise _deleted(course_id)
    return course


def add_chapter(user: Principal, course_id: str, body: ChapterCreate) -> CourseDetail:
    course = _editable(user, course_id)
    chapters = _chapters(course)
    if len(chapters) >= 200:
        raise Conflict("A course has at most 200 chapters.", code="too_many_chapters")
    chapters.append(
        {
            "chapter_id": str(uuid.uuid4()),
            "title": body.title,
            "is_free": body.is_free,
            "is_locked": body.is_locked,
            "videos": [],
        }
    )
    return course_detail(_save_chapters(course, chapters))


def _chapter(chapters: list[dict[str, Any]], chapter_id: str) -> dict[str, Any]:
    for chapter in chapters:
        if chapter["chapter_id"] == chapter_id:
            return chapter
    raise NotFound("No such chapter in this course.", code="chapter_not_found", details={"chapter_id": chapter_id})


def add_video(user: Principal, course_id: str, chapter_id: str, body: ChapterVideoAdd) -> CourseDetail:
    course = _editable(user, course_id)
    chapters = _chapters(course)
    chapter = _chapter(chapters, chapter_id)
    if any(v["video_id"] == body.video_id for c in chapters for v in c["videos"]):
        raise Conflict(
            "This video is already in the course.", code="video_already_attached", details={"video_id": body.video_id}
        )
    if len(chapter["videos"]) >= 200:
        raise Conflict("A chapter has at most 200 videos.", code="too_many_videos")
    videos.require_manageable(user, body.video_id)
    chapter["videos"].append({**body.model_dump(), "is_trial": body.trial_seconds is not None})
    return course_detail(_save_chapters(course, chapters))


def _same_ids(given: list[str], current: list[str], what: str) -> None:
    if sorted(given) != sorted(current) or len(set(given)) != len(given):
        raise ValidationFailed(
            f"Give every {what} of the course exactly once.",
            code="order_mismatch",
            details=[
                {
                    "field": f"body.{what}_ids",
                    "message": f"must list each current {what} once",
                    "type": "order_mismatch",
                }
            ],
        )


def reorder_chapters(user: Principal, course_id: str, body: ChapterOrder) -> CourseDetail:
    course = _editable(user, course_id)
    chapters = _chapters(course)
    _same_ids(body.chapter_ids, [c["chapter_id"] for c in chapters], "chapter")
    by_id = {c["chapter_id"]: c for c in chapters}
    return course_detail(_save_chapters(course, [by_id[i] for i in body.chapter_ids]))


def reorder_videos(user: Principal, course_id: str, chapter_id: str, body: VideoOrder) -> CourseDetail:
    course = _editable(user, course_id)
    chapters = _chapters(course)
    chapter = _chapter(chapters, chapter_id)
    _same_ids(body.video_ids, [v["video_id"] for v in chapter["videos"]], "video")
    by_id = {v["video_id"]: v for v in chapter["videos"]}
    chapter["videos"] = [by_id[i] for i in body.video_ids]
    return course_detail(_save_chapters(course, chapters))


# ---------------------------------------------------------------- lifecycle


def publish_conditions(course: Course) -> list[dict[str, Any]]:
    """Every unmet condition of publishing, empty when the course may be published."""
    unmet: list[dict[str, Any]] = []
    if not (course.title or "").strip():
        unmet.append({"condition": "title", "message": "The course needs a title."})
    if not (course.description or "").strip():
        unmet.append({"condition": "description", "message": "The course needs a description."})
    chapters = _chapters(course)
    if not chapters:
        unmet.append({"condition": "chapters", "message": "The course needs at least one chapter."})
    ids = [v["video_id"] for c in chapters for v in c["videos"]]
    statuses = videos.video_statuses(ids)
    for video_id in ids:
        status = statuses.get(video_id)
        if status != READY:
            unmet.append(
                {
                    "condition": "video_ready",
                    "message": "Every video must be READY.",
                    "video_id": video_id,
                    "status": status or "MISSING",
                }
            )
    return unmet


def publish(user: Principal, course_id: str) -> CourseDetail:
    course = _editable(user, course_id)
    if course.status == PUBLISHED:
        return course_detail(course)
    unmet = publish_conditions(course)
    if unmet:
        raise Conflict("The course cannot be published yet.", code="publish_conditions_unmet", details={"unmet": unmet})
    now = utcnow()
    actions = [Course.status.set(PUBLISHED), Course.published_at.set(now), Course.updated_at.set(now)]
    _write_listing_change(course, actions, listed_after=True)
    logger.info("course published", extra={"course_id": course_id})
    return course_detail(_load(course_id))


def unpublish(user: Principal, course_id: str) -> CourseDetail:
    course = _editable(user, course_id)
    if course.status != PUBLISHED:
        return course_detail(course)
    _write_listing_change(course, [Course.status.set(DRAFT), Course.updated_at.set(utcnow())], listed_after=False)
    return course_detail(_load(course_id))


def delete_course(user: Principal, course_id: str) -> None:
    course = _load_managed(user, course_id)
    if course.deleted:
        return None
    now = utcnow()
    _write_listing_change(
        course,
        [Course.deleted.set(True), Course.deleted_at.set(now), Course.updated_at.set(now)],
        listed_after=False,
        deleted_after=True,
    )
    return None


def restore_course(user: Principal, course_id: str) -> CourseDetail:
    course = _load_managed(user, course_id)
    if not course.deleted:
        return course_detail(course)
    _write_listing_change(
        course,
        [Course.deleted.set(False), Course.deleted_at.remove(), Course.updated_at.set(utcnow())],
        listed_after=course.status == PUBLISHED,
        deleted_after=False,
    )
    return course_detail(_load(course_id))


def _write_listing_change(
    course: Course,
    actions: list[Any],
    *,
    listed_after: bool,
    deleted_after: bool | None = None,
    category_id: str | None = None,
    tag_ids: list[str] | None = None,
) -> None:
    """Apply `actions` to the course and move the listing counters with it, in one transaction
    conditioned on the version read."""
    listed_before = _listed(course)
    old_category, old_tags = course.category_id, list(course.tag_ids or [])
    new_category = category_id if category_id is not None else old_category
    new_tags = list(tag_ids) if tag_ids is not None else old_tags
    actions = list(actions)
    if listed_after:
        actions.append(Course.listing.set(Course.published_listing()))
    else:
        actions.append(Course.listing.remove())
    deltas: dict[tuple[str, str], int] = {}
    if listed_before:
        if old_category:
            deltas[("category", old_category)] = deltas.get(("category", old_category), 0) - 1
        for t in old_tags:
            deltas[("tag", t)] = deltas.get(("tag", t), 0) - 1
    if listed_after:
        if new_category:
            deltas[("category", new_category)] = deltas.get(("category", new_category), 0) + 1
        for t in new_tags:
            deltas[("tag", t)] = deltas.get(("tag", t), 0) + 1
    with transaction(_concurrent()) as tx:
        tx.update(course, actions, condition=Course.version == course.version)
        for (kind, ident), delta in deltas.items():
            if delta == 0:
                continue
            if kind == "category":
                tx.update(Category.ref(ident), [Category.course_count.add(delta)], condition=Category.pk.exists())
            else:
                tx.update(Tag.ref(ident), [Tag.usage_count.add(delta)], condition=Tag.pk.exists())


# ---------------------------------------------------------------- listing


def list_courses(query: CourseListQuery) -> CoursesPage:
    """The public catalog, newest first: one Query of the published-courses index; the
    filters are FilterExpressions on it, so a page may be short (see CoursesPage)."""
    listing = Course.published_listing()
    start = pagination.decode(
        query.cursor,
        keys=(Course.pk.attr_name, Course.sk.attr_name, Course.created_at.attr_name),
        partition={Course.listing.attr_name: listing},
    )
    conditions = []
    if query.category_id is not None:
        ids = subtree_ids(query.category_id)
        if not ids:
            return CoursesPage(items=[], next_cursor=None)
        conditions.append(Course.category_id.is_in(*ids[:100]))
    if query.tag_id is not None:
        conditions.append(Course.tag_ids.contains(query.tag_id))
    if query.level is not None:
        conditions.append(Course.level == query.level)
    if query.is_free is not None:
        conditions.append(Course.is_free == (query.is_free == "true"))
    if query.instructor_id is not None:
        conditions.append(Course.instructor_id == query.instructor_id)
    if query.org_id is not None:
        conditions.append(Course.org_id == query.org_id)
    condition = None
    for c in conditions:
        condition = c if condition is None else condition & c
    results = Course.published_courses.query(
        listing,
        filter_condition=condition,
        scan_index_forward=False,
        limit=query.limit,
        page_size=query.limit,
        last_evaluated_key=start,
    )
    items = [course_out(c) for c in results]
    return CoursesPage(items=items, next_cursor=pagination.encode(results.last_evaluated_key))


# ---------------------------------------------------------------- shapes


def course_out(course: Course) -> CourseOut:
    chapters = course.chapters or []
    return CourseOut(
        course_id=course.course_id,
        title=course.title,
        description=course.description,
        type=course.type,
        category_id=course.category_id,
        tag_ids=list(course.tag_ids or []),
        level=course.level,
        price_cents=int(course.price_cents),
        currency=course.currency,
        is_free=bool(course.is_free),
        instructor_id=course.instructor_id,
        org_id=course.org_id,
        status=course.status,
        deleted=bool(course.deleted),
        view_count=int(course.view_count),
        enrollment_count=int(course.enrollment_count),
        chapter_count=len(chapters),
        video_count=sum(len(c.get("videos", [])) for c in chapters),
        created_at=course.created_at,
        updated_at=course.updated_at,
        published_at=course.published_at,
        version=int(course.version or 0),
    )


def course_detail(course: Course) -> CourseDetail:
    chapters = [
        ChapterOut(
            chapter_id=c["chapter_id"],
            title=c["title"],
            is_free=c.get("is_free", False),
            is_locked=c.get("is_locked", False),
            videos=[ChapterVideoOut(**v) for v in c.get("videos", [])],
        )
        for c in (course.chapters or [])
    ]
    return CourseDetail(**course_out(course).model_dump(), chapters=chapters)
