"""Fixtures for the kubectl tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubectl_helpers import Harness, make_harness


@pytest.fixture
def harness(tmp_path: Path) -> Harness:
    """A live API server, its client and a kubectl on a fixed clock (T0)."""
    return make_harness(tmp_path)
