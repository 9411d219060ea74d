"""The dependency rule (DESIGN §2): the language and the interpreter are pure.

``asl`` and ``engine`` import nothing from ``api``, ``store``, ``runtime``, ``console``
or ``client``; ``asl`` does not import ``engine``. The test walks every import
statement, including those inside functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "opensfn"
OUTER = ("api", "store", "runtime", "console", "client")
FORBIDDEN = {
    "asl": tuple(f"opensfn.{p}" for p in (*OUTER, "engine")),
    "engine": tuple(f"opensfn.{p}" for p in OUTER),
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{alias.name}" for alias in node.names)
    return out


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_pure_layers_import_no_outer_layer(layer: str) -> None:
    files = sorted((SRC / layer).glob("*.py"))
    assert files, f"no modules found in {layer}"
    bad = []
    for path in files:
        for mod in imported_modules(path):
            if mod.startswith(FORBIDDEN[layer]):
                bad.append(f"{path.name} imports {mod}")
    assert not bad, bad


def test_the_walker_sees_imports_inside_functions(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from opensfn.store import database\n")
    assert "opensfn.store.database" in imported_modules(f)
