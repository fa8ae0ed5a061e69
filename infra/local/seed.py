"""Sample data for `make run`: a platform admin, an approved (listed) tutor, a student and an
organization of the tutor's that the student joined by accepting an invite.

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
    from chalicelib.orgs.schemas import InviteAccept, InviteCreate, OrgCreate

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

    # Also when the profile predates tutor review (no approval yet): submit it once more.
    if users["tutor"].tutor is None or users["tutor"].tutor.approval is None:
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
    if users["tutor"].tutor.approval.state == "pending":
        # Listed in the directory, as a platform admin's review would leave it (a decision
        # taken on restored data since is kept).
        tutors.approve(users["admin"], users["tutor"].user_id)
    mine = orgs.list_my_orgs(users["tutor"], PageQuery())
    if not any(org.name == ORG_NAME for org in mine.items):
        org = orgs.create_org(users["tutor"], OrgCreate(name=ORG_NAME, description="Sample organization"))
        # Members join by accepting an invite sent to their address, never by someone else's write.
        invite = orgs.create_invite(users["tutor"], org.org_id, InviteCreate(email=users["student"].email))
        orgs.accept_invite(users["student"], InviteAccept(token=invite.token))
    return ACCOUNTS
