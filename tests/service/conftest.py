"""Service tests: business rules called as functions, against the real emulator.

No HTTP and no patching of our code: every test calls service, kernel or adapter functions
directly, and they read and write the tables and buckets the local stack provisioned.

chalicelib is imported inside fixtures and tests, never at module level: the stack sets
the environment (table names, endpoint, Powertools settings) that its modules read, and
collection happens before the stack starts.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest


@pytest.fixture(scope="session", autouse=True)
def platform(stack: Any) -> Any:
    """The started local platform: its environment is set and its tables exist."""
    return stack


class People:
    """Principals as the services get them: `User` items, saved straight to the users table.

    They have no Cognito account (no sign-in is needed below the API); ids are fresh uuid4s.
    """

    def create(self, role: str = "student", *, email: str | None = None, display_name: str | None = None) -> Any:
        from chalicelib.identity.models import User

        tag = uuid.uuid4().hex[:12]
        user = User(
            user_id=str(uuid.uuid4()),
            email=email or f"user-{tag}@example.com",
            display_name=display_name or f"{role.title()} {tag[:6]}",
            role=role,
        )
        user.save()
        return user


@pytest.fixture
def people() -> People:
    return People()
