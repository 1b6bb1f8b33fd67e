"""The tutorial's manifests for tests: the copy `redisha tutorial` ships
(`redisha.tutorial.manifests.TUTORIAL`), so there is one copy in the checkout;
`test_commands_tutorial` checks it against shared/ where shared/ is present."""

from __future__ import annotations

from pathlib import Path

from redisha.tutorial.manifests import TUTORIAL

SHARED_MANIFESTS = Path(__file__).resolve().parents[2] / "shared" / "tutorial" / "manifests"
"""The tutorial's files, in the shared/ folder that sits beside the checkout (developers' machines
and CI both have it)."""

TUTORIAL_MANIFESTS: dict[str, str] = dict(TUTORIAL)
"""File name → the file's text, verbatim."""
