"""Courses: categories, tags and courses in one table (CoursesTable), keys built here only.

Item kinds (see docs/data-model.md for the access patterns):

    pk=CATEGORIES       sk=CATEGORY#<category_id>  Category  (the whole tree: one Query)
    pk=TAGS             sk=TAG#<tag_id>            Tag       (every tag: one Query)
    pk=COURSE#<id>      sk=COURSE                  Course    (chapters and their videos inside)

A course carries `listing` = "PUBLISHED" only while it is published and not deleted: the
sparse GSI published-courses (listing, created_at) is the public catalog, newest first.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.core.dynamo import KeyedModel, table_meta, utcnow

_CATEGORIES = "CATEGORIES"
_CATEGORY = "CATEGORY#"
_TAGS = "TAGS"
_TAG = "TAG#"
_COURSE = "COURSE#"
_COURSE_SK = "COURSE"
PUBLISHED_LISTING = "PUBLISHED"


class Category(KeyedModel, Model):
    """A node of the category tree. `path` is `/<root id>/.../<own id>/`: a subtree is every
    category whose path starts with the root's path."""

    Meta = table_meta("courses_table_name")

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    category_id = UnicodeAttribute()
    name = UnicodeAttribute()
    parent_id = UnicodeAttribute(null=True)
    level = NumberAttribute(default=0)  # 0 for a root
    path = UnicodeAttribute()
    order = NumberAttribute(default=0)
    active = BooleanAttribute(default=True)
    # Published, not deleted courses filed directly under this category (atomic ADDs).
    course_count = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute(default=utcnow)

    @classmethod
    def key(cls, category_id: str) -> tuple[str, str]:
        return _CATEGORIES, f"{_CATEGORY}{category_id}"

    @classmethod
    def partition(cls) -> str:
        return _CATEGORIES

    @classmethod
    def new(cls, category_id: str, **attrs) -> Category:
        pk, sk = cls.key(category_id)
        return cls(pk, sk, category_id=category_id, **attrs)

    @classmethod
    def ref(cls, category_id: str) -> Category:
        pk, sk = cls.key(category_id)
        return cls(pk, sk)


class Tag(KeyedModel, Model):
    Meta = table_meta("courses_table_name")

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    tag_id = UnicodeAttribute()
    name = UnicodeAttribute()
    type = UnicodeAttribute()  # general | level | goal
    colour = UnicodeAttribute()  # #rrggbb
    # Published, not deleted courses carrying this tag (atomic ADDs).
    usage_count = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute(default=utcnow)

    @classmethod
    def key(cls, tag_id: str) -> tuple[str, str]:
        return _TAGS, f"{_TAG}{tag_id}"

    @classmethod
    def partition(cls) -> str:
        return _TAGS

    @classmethod
    def new(cls, tag_id: str, **attrs) -> Tag:
        pk, sk = cls.key(tag_id)
        return cls(pk, sk, tag_id=tag_id, **attrs)

    @classmethod
    def ref(cls, tag_id: str) -> Tag:
        pk, sk = cls.key(tag_id)
        return cls(pk, sk)


class PublishedCoursesIndex(GlobalSecondaryIndex):
    """Sparse: published, not deleted courses, by creation time (the public catalog)."""

    class Meta:
        index_name = "published-courses"
        projection = AllProjection()

    listing = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class Course(KeyedModel, Model):
    """A course. `chapters` is the ordered list of chapters, each with its ordered videos
    (JSON validated by schemas.ChapterData): reordering is one conditional write."""

    Meta = table_meta("courses_table_name")

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    course_id = UnicodeAttribute()
    title = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    type = UnicodeAttribute(default="video")  # video | article
    category_id = UnicodeAttribute(null=True)
    tag_ids = ListAttribute(of=UnicodeAttribute, default=list)
    level = UnicodeAttribute(default="beginner")
    price_cents = NumberAttribute(default=0)
    currency = UnicodeAttribute(default="USD")
    is_free = BooleanAttribute(default=True)
    instructor_id = UnicodeAttribute()
    org_id = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="draft")  # draft | in_review | published | archived
    deleted = BooleanAttribute(default=False)
    deleted_at = UTCDateTimeAttribute(null=True)
    listing = UnicodeAttribute(null=True)  # PUBLISHED while listed (sparse GSI)
    chapters = JSONAttribute(default=list)
    view_count = NumberAttribute(default=0)
    enrollment_count = NumberAttribute(default=0)
    # ISO-8601 string so the published-courses index sorts on it.
    created_at = UnicodeAttribute(default=lambda: utcnow().isoformat())
    updated_at = UTCDateTimeAttribute(default=utcnow)
    published_at = UTCDateTimeAttribute(null=True)
    version = VersionAttribute()

    published_courses = PublishedCoursesIndex()

    @classmethod
    def key(cls, course_id: str) -> tuple[str, str]:
        return f"{_COURSE}{course_id}", _COURSE_SK

    @classmethod
    def new(cls, course_id: str, **attrs) -> Course:
        pk, sk = cls.key(course_id)
        return cls(pk, sk, course_id=course_id, **attrs)

    @classmethod
    def published_listing(cls) -> str:
        return PUBLISHED_LISTING
