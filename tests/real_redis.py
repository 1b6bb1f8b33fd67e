"""`requires_real_redis`: tests of the real backend run where it can, and CI proves it can.

A developer's machine without redis-server (or not root) skips those tests with the one-line
reason `backends.require` gives. CI sets `REDISHA_REQUIRE_REDIS=1`, where the same missing
piece fails the test instead: a skipped real-backend suite must not pass as green there.

Use: `from tests.real_redis import requires_real_redis` (the import makes the fixture
visible to the module), then `pytestmark = real_redis` or
`@pytest.mark.usefixtures("requires_real_redis")`; a test parametrized over backends
calls `need_real_redis()` for its real case.
"""

from __future__ import annotations

import os

import pytest

from redisha.backends import Backend, BackendUnavailable, require

REQUIRE_ENV = "REDISHA_REQUIRE_REDIS"
"""Set to 1 where the real backend must be available (CI)."""


def real_backend_problem() -> str:
    """Why the real backend cannot run here ('' when it can)."""
    try:
        require(Backend.REAL)
    except BackendUnavailable as exc:
        return str(exc)
    return ""


def need_real_redis() -> None:
    """Skip the calling test without the real backend; fail it instead when
    REDISHA_REQUIRE_REDIS=1 (for tests parametrized over backends)."""
    problem = real_backend_problem()
    if not problem:
        return
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but the real backend is unavailable: {problem}",
                    pytrace=False)
    pytest.skip(problem)


@pytest.fixture
def requires_real_redis() -> None:
    """Skip the test without the real backend; fail instead when REDISHA_REQUIRE_REDIS=1."""
    need_real_redis()


real_redis = pytest.mark.usefixtures("requires_real_redis")
"""The marker form: `pytestmark = real_redis` in a module of real-backend tests."""
