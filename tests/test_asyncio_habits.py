"""Habits the engine's one event loop depends on, checked on every module's source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("cluster", "redisha", "tui")


def calls(path: Path) -> list[tuple[int, str]]:
    """Every `a.b(...)` call in the module, as (line, "a.b")."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and isinstance(node.func.value, ast.Name):
            found.append((node.lineno, f"{node.func.value.id}.{node.func.attr}"))
    return found


def sources() -> list[Path]:
    return [p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))]


@pytest.mark.parametrize("forbidden,why", [
    pytest.param("asyncio.wait_for",
                 "Python 3.11's wait_for loses a cancel that arrives as the awaited thing "
                 "finishes, so a cancelled task runs on (use `async with asyncio.timeout`)",
                 id="no-wait_for"),
    pytest.param("time.sleep", "it stops the whole embedded cluster", id="no-time-sleep"),
])
def test_the_engine_avoids(forbidden: str, why: str) -> None:
    offenders = [f"{path.relative_to(ROOT)}:{line}" for path in sources()
                 for line, name in calls(path) if name == forbidden]
    assert not offenders, f"{forbidden} ({why}): {', '.join(offenders)}"
