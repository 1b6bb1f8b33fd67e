"""`need_kubectl()`: tests of the real kubectl run where it is installed, and CI proves it.

Without kubectl on PATH such a test is skipped with a reason; with `REDISHA_REQUIRE_KUBECTL=1`
(as `.ci/run` sets) or `CI=true` it fails instead, so a skipped kubectl suite cannot pass
as green there.
"""

from __future__ import annotations

import os
import shutil

import pytest

REQUIRE_ENV = "REDISHA_REQUIRE_KUBECTL"


def need_kubectl() -> str:
    """The real kubectl's path, or a skip (a failure where it is required)."""
    found = shutil.which("kubectl")
    if found:
        return found
    if os.environ.get("CI") == "true" or os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"kubectl not found on PATH, and CI=true or {REQUIRE_ENV}=1 requires it")
    pytest.skip("kubectl not found on PATH (install it to check redisha serve with it)")


@pytest.fixture
def requires_kubectl() -> str:
    """`need_kubectl()` as a fixture: `pytestmark = pytest.mark.usefixtures(...)`."""
    return need_kubectl()
