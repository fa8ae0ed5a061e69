"""Sample data for `make run`: a platform admin, a tutor, a student and an organization.

Idempotent: running it against restored data changes nothing. The passwords are sample
credentials for the local emulator only.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SampleAccount:
    email: str
    password: str
    display_name: str
    role: str


SAMPLE_PASSWORD = "Lectern-local-2026"
ACCOUNTS = (
    SampleAccount("admin@lectern.local", SAMPLE_PASSWORD, "Platform Admin", "admin"),
    SampleAccount("tutor@lectern.local", SAMPLE_PASSWORD, "Мария Тьютор", "tutor"),
    SampleAccount("student@lectern.local", SAMPLE_PASSWORD, "李学生", "student"),
)
ORG_NAME = "Lectern Academy"


def seed() -> tuple[SampleAccount, ...]:
    from chalicelib.core.errors import Conflict
    from chalicelib.core.pagination import PageQuery
    from chalicelib.identity import service as identity
    from chalicelib.identity import tutors
    from chalicelib.identity.models import User
    from chalicelib.identity.schemas import SignUpRequest, TutorProfileIn
    from chalicelib.orgs import service as orgs
    from chalicelib.orgs.schemas import MemberPut, OrgCreate

    users: dict[str, User] = {}
    for account in ACCOUNTS:
        signup_role = "tutor" if account.role == "tutor" else "student"
        try:
            identity.sign_up(
                SignUpRequest(
                    email=account.email, password=account.password, display_name=account.display_name, role=signup_role
                )
            )
        except Conflict:
            pass  # already there from an earlier run
        user_id = identity.user_id_for_email(account.email)
        if account.role == "admin":
            identity.set_role(user_id, "admin")
        users[account.role] = User.get(user_id)

    if users["tutor"].tutor is None:
        tutors.put_profile(
            users["tutor"],
            TutorProfileIn(
                subjects=["python", "video editing"],
                years_experience=6,
                hourly_rate_cents=4500,
                currency="USD",
                active=True,
            ),
        )
    mine = orgs.list_my_orgs(users["tutor"], PageQuery())
    if not any(org.name == ORG_NAME for org in mine.items):
        org = orgs.create_org(users["tutor"], OrgCreate(name=ORG_NAME, description="Sample organization"))
        orgs.put_member(users["tutor"], org.org_id, users["student"].user_id, MemberPut(role="member"))
    return ACCOUNTS
