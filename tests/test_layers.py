"""The import layers DESIGN.md draws, checked on every module's real imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Inside `cluster`, a module may import only from its own layer or the layers below it.
CLUSTER_LAYERS: list[tuple[str, ...]] = [
    ("cluster.api",),
    ("cluster.store",),
    ("cluster.apiserver",),
    ("cluster.client",),
    ("cluster.events", "cluster.workqueue", "cluster.informer", "cluster.reconciling"),
]


def layer_of(module: str) -> int:
    for rank, names in enumerate(CLUSTER_LAYERS):
        if any(module == n or module.startswith(n + ".") for n in names):
            return rank
    return len(CLUSTER_LAYERS)  # controllers, kubectl, runtimes…: the top


def runtime_imports(path: Path) -> list[str]:
    """Modules imported outside `if TYPE_CHECKING:` blocks."""
    tree = ast.parse(path.read_text())
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for n in ast.walk(node))
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            found += [f"{node.module}.{a.name}" for a in node.names]
    return found


def modules(package: str) -> list[tuple[str, Path]]:
    out = []
    for path in sorted((ROOT / package).rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__")
        out.append((name, path))
    return out


@pytest.mark.parametrize("package,forbidden", [
    pytest.param("cluster", ("redisha", "tui"), id="cluster-knows-no-redis-or-tui"),
    pytest.param("tui", ("redisha",), id="tui-knows-no-redisha"),
])
def test_packages_do_not_import_upwards(package: str, forbidden: tuple[str, ...]) -> None:
    """`cluster` imports neither `redisha` nor `tui`; `tui` does not import `redisha`."""
    bad = [(name, imp) for name, path in modules(package) for imp in runtime_imports(path)
           if imp.split(".")[0] in forbidden]
    assert bad == []


def test_cluster_layers_point_down() -> None:
    """store → apiserver → client → informers: no module imports a layer above its own."""
    bad = []
    for name, path in modules("cluster"):
        own = layer_of(name)
        for imp in runtime_imports(path):
            if imp.startswith("cluster.") and layer_of(imp) > own:
                bad.append(f"{name} imports {imp}")
    assert bad == []
