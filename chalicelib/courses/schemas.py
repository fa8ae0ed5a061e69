"""Requests and responses of the course catalog routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, model_validator

from chalicelib.core.pagination import PageQuery
from chalicelib.core.schemas import OrgId, StrictRequest, UserId, one_line, unchanged, whole_number

_UUID4 = r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
CourseId = Annotated[str, StringConstraints(pattern=_UUID4)]
CategoryId = Annotated[str, StringConstraints(pattern=_UUID4)]
TagId = Annotated[str, StringConstraints(pattern=_UUID4)]
ChapterId = Annotated[str, StringConstraints(pattern=_UUID4)]
# Video ids are upload ids (uuid4).
VideoId = Annotated[str, StringConstraints(pattern=_UUID4)]

Name = one_line(100)
Title = one_line(200)
Description = Annotated[str, StringConstraints(max_length=10000)]
Colour = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
TagType = Literal["general", "level", "goal"]
Level = Literal["beginner", "intermediate", "advanced"]
CourseType = Literal["video", "article"]
CourseStatus = Literal["draft", "in_review", "published", "archived"]
Order = whole_number(ge=0, le=1_000_000)
MAX_TAGS = 10


# ---------------------------------------------------------------- categories


class CategoryCreate(StrictRequest):
    name: Name
    parent_id: CategoryId | None = None
    order: Order = 0
    active: StrictBool = True


class CategoryMove(StrictRequest):
    """Move a category (with its subtree) under `parent_id`, or to the top when null."""

    parent_id: CategoryId | None
    order: Order = unchanged()


class CategoryOut(BaseModel):
    category_id: str
    name: str
    parent_id: str | None
    level: int
    path: str
    order: int
    active: bool
    course_count: int = Field(description="Published courses filed directly under this category.")
    subtree_course_count: int = Field(description="Published courses in this category and its subcategories.")


class CategoryTree(BaseModel):
    items: list[CategoryOut] = Field(description="Every category, depth first, siblings by order then name.")


# ---------------------------------------------------------------- tags


class TagCreate(StrictRequest):
    name: one_line(50)
    type: TagType = "general"
    colour: Colour = "#808080"


class TagOut(BaseModel):
    tag_id: str
    name: str
    type: TagType
    colour: str
    usage_count: int


class TagList(BaseModel):
    items: list[TagOut]


# ---------------------------------------------------------------- courses


class CourseCreate(StrictRequest):
    title: Title
    description: Description = ""
    type: CourseType = "video"
    category_id: CategoryId | None = None
    tag_ids: list[TagId] = Field(default_factory=list, max_length=MAX_TAGS)
    level: Level = "beginner"
    price_cents: whole_number(ge=0, le=100_000_000) = 0
    currency: Currency = "USD"
    is_free: StrictBool = True
    org_id: OrgId | None = None


class CourseUpdate(StrictRequest):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    title: Title = unchanged()
    description: Description = unchanged()
    type: CourseType = unchanged()
    category_id: CategoryId = unchanged()
    tag_ids: Annotated[list[TagId], Field(max_length=MAX_TAGS)] = unchanged()
    level: Level = unchanged()
    price_cents: whole_number(ge=0, le=100_000_000) = unchanged()
    currency: Currency = unchanged()
    is_free: StrictBool = unchanged()

    @model_validator(mode="after")
    def _something_to_change(self) -> CourseUpdate:
        if not self.model_fields_set:
            raise ValueError("Give at least one field to change.")
        return self


class ChapterCreate(StrictRequest):
    title: Title
    is_free: StrictBool = False
    is_locked: StrictBool = False


class ChapterVideoAdd(StrictRequest):
    """A video's rules: free to all, a trial (the first `trial_seconds` are open; null means
    no trial), members of the course's org only."""

    video_id: VideoId
    title: Title | None = None
    is_free: StrictBool = False
    trial_seconds: whole_number(gt=0, le=86_400) | None = Field(
        None, description="Makes the video a trial video: this many seconds are open to trial learners."
    )
    members_only: StrictBool = False


class ChapterOrder(StrictRequest):
    chapter_ids: list[ChapterId] = Field(max_length=200)


class VideoOrder(StrictRequest):
    video_ids: list[VideoId] = Field(max_length=200)


class ChapterVideoOut(BaseModel):
    video_id: str
    title: str | None = None
    is_free: bool
    is_trial: bool
    trial_seconds: int | None = None
    members_only: bool


class ChapterOut(BaseModel):
    chapter_id: str
    title: str
    is_free: bool
    is_locked: bool
    videos: list[ChapterVideoOut]


class CourseOut(BaseModel):
    course_id: str
    title: str
    description: str
    type: CourseType
    category_id: str | None
    tag_ids: list[str]
    level: Level
    price_cents: int
    currency: str
    is_free: bool
    instructor_id: str
    org_id: str | None
    status: CourseStatus
    deleted: bool
    view_count: int
    enrollment_count: int
    chapter_count: int
    video_count: int
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None = None
    version: int


class CourseDetail(CourseOut):
    chapters: list[ChapterOut]


class CoursesPage(BaseModel):
    items: list[CourseOut]
    next_cursor: str | None = Field(
        None,
        description="Filters apply after the read: a page may hold fewer than `limit` items (even none) "
        "and still have a next page; follow next_cursor until it is null.",
    )


class CourseListQuery(PageQuery):
    category_id: CategoryId | None = Field(None, description="This category and its subcategories.")
    tag_id: TagId | None = None
    level: Level | None = None
    is_free: Literal["true", "false"] | None = Field(None, description="true: free courses only; false: paid only.")
    instructor_id: UserId | None = None
    org_id: OrgId | None = None
