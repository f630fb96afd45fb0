"""Who may import whom, on the pallet side (read from the source, so a new file is checked too): pallets
import neither the node side nor the client, nor the models package's process-global kind registry; the
models package and the shared formats stand on nothing of the chain above them; the client imports no
pallet or node code; every hook spec is declared in runtime/hookspecs.py."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GLOBAL_KIND_NAMES = {"KINDS", "register_kind", "get_kind", "KindRegistry"}


def imports(package: str) -> list[tuple[str, str, set[str]]]:
    """(file, imported module, imported names) of every import in a package, lazy ones included."""
    found: list[tuple[str, str, set[str]]] = []
    for path in sorted((ROOT / package.replace(".", "/")).rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        where = str(path.relative_to(ROOT))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.extend((where, alias.name, set()) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((where, node.module, {alias.name for alias in node.names}))
    return found


def offenders(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{where} imports {module}"
        for where, module, _ in imports(package)
        if any(module == top or module.startswith(top + ".") for top in forbidden)
    ]


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("pallets", ("cmu.node", "cmu.client", "node", "cmu.scenarios")),
        (
            "cmu.models",
            ("runtime", "pallets", "cmu.node", "cmu.client", "cmu.formats", "node", "cmu.scenarios"),
        ),
        ("cmu.formats", ("pallets", "cmu.node", "cmu.client", "node", "cmu.scenarios")),
        ("cmu.client", ("pallets", "cmu.node", "node", "cmu.scenarios")),
    ],
)
def test_a_package_imports_only_what_is_below_it(package, forbidden):
    assert offenders(package, forbidden) == []


def test_pallets_use_no_global_kind_registry():
    used = [
        f"{where} imports {sorted(names & GLOBAL_KIND_NAMES)} from {module}"
        for where, module, names in imports("pallets")
        if (module == "cmu.models" or module.startswith("cmu.models.")) and names & GLOBAL_KIND_NAMES
    ]
    assert used == []
    attributes = [  # models.KINDS, models.registry.register_kind, ...
        f"{path.relative_to(ROOT)}:{node.lineno} .{node.attr}"
        for path in sorted((ROOT / "pallets").rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.Attribute) and node.attr in GLOBAL_KIND_NAMES
    ]
    assert attributes == []


def test_every_hookspec_lives_in_runtime_hookspecs():
    declaring = []
    for package in ("runtime", "pallets", "cmu"):
        for path in (ROOT / package).rglob("*.py"):
            if path == ROOT / "runtime" / "hookspecs.py" or "testing" in path.parts:
                continue
            tree = ast.parse(path.read_text(), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef) and any(
                    (isinstance(d, ast.Name) and d.id == "hookspec")
                    or (isinstance(d, ast.Call) and isinstance(d.func, ast.Name) and d.func.id == "hookspec")
                    for d in node.decorator_list
                ):
                    declaring.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert declaring == []
