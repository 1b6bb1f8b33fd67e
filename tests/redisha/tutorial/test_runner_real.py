"""`redisha tutorial --backend real`: the walkthrough with real redis-server processes."""

from __future__ import annotations

import pytest

from redisha import cli
from redisha.tutorial.steps import STEPS
from tests.real_redis import real_redis, requires_real_redis  # noqa: F401 - the fixture

pytestmark = real_redis

TOTAL = sum(len(step.checks) for step in STEPS)


def test_the_whole_tutorial_passes_on_the_real_backend(capsys: pytest.CaptureFixture[str]) -> None:
    """Every outcome of steps 2-6 matches the tutorial's with real redis-server pods."""
    code = cli.main(["tutorial", "--backend", "real"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.splitlines()[-1] == f"tutorial: {TOTAL} checks, {TOTAL} passed"
