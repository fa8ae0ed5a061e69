"""Course catalog routes: categories, tags, courses, chapters and their videos.

Reading the catalog is public (limited per IP); changing it needs a signed-in caller whom the
policy allows (chalicelib/courses/policy.py).
"""

from chalice import Blueprint

from chalicelib.core.routing import Ctx, route
from chalicelib.courses import service as courses
from chalicelib.courses.schemas import (
    CategoryCreate,
    CategoryId,
    CategoryMove,
    CategoryOut,
    CategoryTree,
    ChapterCreate,
    ChapterId,
    ChapterOrder,
    ChapterVideoAdd,
    CourseCreate,
    CourseDetail,
    CourseId,
    CourseListQuery,
    CoursesPage,
    CourseUpdate,
    TagCreate,
    TagList,
    TagOut,
    VideoOrder,
)

bp = Blueprint(__name__)


@route(bp, "POST", "/categories", status=201)
def create_category(ctx: Ctx, body: CategoryCreate) -> CategoryOut:
    """Create a category, at the top or under a parent (platform admins)."""
    return courses.create_category(ctx.user, body)


@route(bp, "GET", "/categories", auth=False)
def list_categories(ctx: Ctx) -> CategoryTree:
    """The whole category tree in one answer."""
    return courses.list_categories()


@route(bp, "POST", "/categories/{category_id}/move")
def move_category(ctx: Ctx, category_id: CategoryId, body: CategoryMove) -> CategoryOut:
    """Move a category with its subtree under another parent, or to the top (platform admins)."""
    return courses.move_category(ctx.user, category_id, body)


@route(bp, "POST", "/tags", status=201)
def create_tag(ctx: Ctx, body: TagCreate) -> TagOut:
    """Create a tag (platform admins)."""
    return courses.create_tag(ctx.user, body)


@route(bp, "GET", "/tags", auth=False)
def list_tags(ctx: Ctx) -> TagList:
    """Every tag with its type, colour and usage count."""
    return courses.list_tags()


@route(bp, "POST", "/courses", status=201)
def create_course(ctx: Ctx, body: CourseCreate) -> CourseDetail:
    """Create a draft course (tutors, platform admins; an org's admins for the org's courses)."""
    return courses.create_course(ctx.user, body)


@route(bp, "GET", "/courses", auth=False)
def list_courses(ctx: Ctx, query: CourseListQuery) -> CoursesPage:
    """The published catalog, newest first, with filters."""
    return courses.list_courses(query)


@route(bp, "GET", "/courses/{course_id}", auth=False)
def get_course(ctx: Ctx, course_id: CourseId) -> CourseDetail:
    """A published course with its chapters and videos."""
    return courses.get_published(course_id)


@route(bp, "GET", "/courses/{course_id}/manage")
def get_managed_course(ctx: Ctx, course_id: CourseId) -> CourseDetail:
    """A course in any state, for those who manage it (drafts and deleted ones included)."""
    return courses.get_managed(ctx.user, course_id)


@route(bp, "PATCH", "/courses/{course_id}")
def update_course(ctx: Ctx, course_id: CourseId, body: CourseUpdate) -> CourseDetail:
    """Edit a course's fields."""
    return courses.update_course(ctx.user, course_id, body)


@route(bp, "POST", "/courses/{course_id}/chapters", status=201)
def add_chapter(ctx: Ctx, course_id: CourseId, body: ChapterCreate) -> CourseDetail:
    """Add a chapter at the end of the course."""
    return courses.add_chapter(ctx.user, course_id, body)


@route(bp, "PUT", "/courses/{course_id}/chapters/order")
def reorder_chapters(ctx: Ctx, course_id: CourseId, body: ChapterOrder) -> CourseDetail:
    """Reorder the chapters (every chapter id exactly once)."""
    return courses.reorder_chapters(ctx.user, course_id, body)


@route(bp, "POST", "/courses/{course_id}/chapters/{chapter_id}/videos", status=201)
def add_video(ctx: Ctx, course_id: CourseId, chapter_id: ChapterId, body: ChapterVideoAdd) -> CourseDetail:
    """Attach one of the caller's uploaded videos at the end of a chapter."""
    return courses.add_video(ctx.user, course_id, chapter_id, body)


@route(bp, "PUT", "/courses/{course_id}/chapters/{chapter_id}/videos/order")
def reorder_videos(ctx: Ctx, course_id: CourseId, chapter_id: ChapterId, body: VideoOrder) -> CourseDetail:
    """Reorder a chapter's videos (every video id exactly once)."""
    return courses.reorder_videos(ctx.user, course_id, chapter_id, body)


@route(bp, "POST", "/courses/{course_id}/publish")
def publish_course(ctx: Ctx, course_id: CourseId) -> CourseDetail:
    """Publish a course; 409 publish_conditions_unmet lists every unmet condition."""
    return courses.publish(ctx.user, course_id)


@route(bp, "POST", "/courses/{course_id}/unpublish")
def unpublish_course(ctx: Ctx, course_id: CourseId) -> CourseDetail:
    """Take a course out of the catalog (back to draft)."""
    return courses.unpublish(ctx.user, course_id)


@route(bp, "DELETE", "/courses/{course_id}")
def delete_course(ctx: Ctx, course_id: CourseId) -> None:
    """Soft-delete a course: hidden everywhere, restorable."""
    return courses.delete_course(ctx.user, course_id)


@route(bp, "POST", "/courses/{course_id}/restore")
def restore_course(ctx: Ctx, course_id: CourseId) -> CourseDetail:
    """Restore a soft-deleted course."""
    return courses.restore_course(ctx.user, course_id)
