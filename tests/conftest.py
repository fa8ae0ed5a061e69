"""Shared fixtures: the whole local platform, started once per test session on free ports.

Test modules import chalicelib and app at the top like any code: Settings are re-read when
the stack has set the environment, and models read their table names from Settings on use.
"""

from __future__ import annotations

import os
from urllib.parse import urljoin

import pytest
import requests

from infra.local.stack import LocalStack, Ports
from tests.fixtures.limits import SUITE_ENVIRONMENT

pytest_plugins = ["tests.fixtures.accounts"]


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> LocalStack:
    # Rate limits far above what the suite does; tests of a limit lower it (tests/fixtures/limits.py).
    os.environ.update(SUITE_ENVIRONMENT)
    started = LocalStack(ports=Ports.free(), data_dir=None).start()
    yield started
    started.stop()


class Api(requests.Session):
    """A requests session bound to the local API: api.get("/me", headers=...)."""

    def __init__(self, base_url: str):
        super().__init__()
        self.base_url = base_url

    def request(self, method: str, url: str, *args, **kwargs):  # type: ignore[override]
        kwargs.setdefault("timeout", 30)
        return super().request(method, urljoin(self.base_url, url), *args, **kwargs)


@pytest.fixture(scope="session")
def api(stack: LocalStack) -> Api:
    with Api(stack.api_url) as session:
        yield session
