"""Who may import whom, read from the source with `ast` (every import statement, lazy and TYPE_CHECKING
ones included), and where hook specifications may live. docs/architecture.md has the table.

    runtime/   imports nothing above it: no pallets, models, service, client, scenarios (runtime/testing,
               the pallet authors' mock, may import pallets)
    pallets/, models/   never the node side (service, scenarios) nor the client
    client/    never pallet internals (it speaks the wire formats, not the pallets' modules)
    hook specs only in runtime/hookspecs.py
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NODE_SIDE = ("cmu.node", "cmu.scenarios", "node")
ABOVE_RUNTIME = ("pallets", "cmu", "node")


def _sources(package: str) -> Iterator[Path]:
    yield from sorted((ROOT / package.replace(".", "/")).rglob("*.py"))


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, top-level module) of every absolute import in a file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def _violations(packages: tuple[str, ...], forbidden: tuple[str, ...], skip: str = "") -> list[str]:
    found = []
    for package in packages:
        for path in _sources(package):
            relative = path.relative_to(ROOT).as_posix()
            if skip and relative.startswith(skip):
                continue
            for line, module in _imports(path):
                if any(module == top or module.startswith(top + ".") for top in forbidden):
                    found.append(f"{relative}:{line} imports {module}")
    return found


def test_the_walk_sees_imports(tmp_path: Path) -> None:
    """The checker itself: plain, from-, lazy and TYPE_CHECKING imports are all found."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from pallets.system import System\ndef f():\n    import cmu.node.rpc\n"
        "    from . import sibling\n"
    )
    assert [m for _, m in _imports(sample)] == ["os", "typing", "pallets.system", "cmu.node.rpc"]


def test_runtime_imports_nothing_above_it() -> None:
    """The consensus core: no pallets, models, client or node side (runtime/testing excepted)."""
    assert _violations(("runtime",), ABOVE_RUNTIME, skip="runtime/testing/") == []


def test_runtime_testing_imports_no_node_side() -> None:
    """The pallet authors' mock may use pallets, never the node side or the client."""
    assert _violations(("runtime/testing",), ("cmu.client", *NODE_SIDE)) == []


def test_pallets_and_models_never_import_the_node_side_or_client() -> None:
    """Pallets and model kinds are consensus code: no service, scenarios, node or client."""
    assert _violations(("pallets", "cmu.models", "cmu.formats"), ("cmu.client", *NODE_SIDE)) == []


def test_client_imports_no_pallet_internals() -> None:
    """The client speaks wire formats (codec, crypto, extrinsic, shared formats), not pallet modules."""
    assert _violations(("cmu.client",), ("pallets",)) == []


def _hookspec_sites(path: Path) -> Iterator[int]:
    """Lines that declare hook specifications: @hookspec decorators or a HookspecMarker made here."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
                if name == "hookspec":
                    yield decorator.lineno
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name == "HookspecMarker":
                yield node.lineno


def test_hookspec_finder_sees_declarations(tmp_path: Path) -> None:
    """The checker itself: decorators with and without arguments, and new markers, are found."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import pluggy\nm = pluggy.HookspecMarker('x')\nclass H:\n    @hookspec\n    def a(self): ...\n"
        "    @m.hookspec(firstresult=True)\n    def b(self): ...\n"
    )
    assert sorted(_hookspec_sites(sample)) == [2, 4, 6]


def test_every_hookspec_lives_in_runtime_hookspecs() -> None:
    """Hook specifications are declared in runtime/hookspecs.py and nowhere else."""
    allowed = ROOT / "runtime" / "hookspecs.py"
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for package in ("runtime", "pallets", "cmu")
        for path in _sources(package)
        if path != allowed
        for line in _hookspec_sites(path)
    ]
    assert found == []


def test_the_wheel_installs_only_runtime_pallets_and_cmu() -> None:
    """Top-level import names: runtime, pallets, cmu and the node.py module (no `models` or `client` that a
    user's own package could shadow)."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert config["py-modules"] == ["node"]
    assert sorted(config["packages"]["find"]["include"]) == ["cmu*", "pallets*", "runtime*"]
    tops = sorted(p.name for p in ROOT.iterdir() if (p / "__init__.py").exists())
    assert tops == ["cmu", "pallets", "runtime"]
