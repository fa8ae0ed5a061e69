"""Tutor profiles and the public tutor directory."""

from chalice import Blueprint

from chalicelib.api.routing import Ctx, route
from chalicelib.schemas.users import TutorListQuery, TutorPage, TutorProfileIn, TutorProfileOut
from chalicelib.services import tutors

bp = Blueprint(__name__)


@route(bp, "PUT", "/me/tutor-profile")
def put_tutor_profile(ctx: Ctx, body: TutorProfileIn) -> TutorProfileOut:
    """Set my tutor profile (tutors only); an active profile is listed in the directory."""
    return tutors.put_profile(ctx.user, body)


@route(bp, "GET", "/tutors", auth=False)
def list_tutors(ctx: Ctx, query: TutorListQuery) -> TutorPage:
    """Active tutors by name, optionally teaching `subject`; follow `next_cursor` for more."""
    return tutors.list_tutors(query)
