"""The rooms of the package and the one-way direction of their imports (docs/ARCHITECTURE.md)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "vpg_sim"
MAX_LINES = 500

NEUTRAL = {"files", "resources"}
"""Modules that import nothing of vpg-sim: any room may use them."""
# room -> the rooms it may import from (besides itself and the neutral modules).
ALLOWED = {
    "core": set(),
    "training": {"core"},
    "policy_files": {"core"},
    "lessons": {"core"},
    "ui": {"core", "training", "policy_files", "lessons"},
    "cli": {"core", "training", "policy_files", "ui", "lessons"},
    **{module: set() for module in NEUTRAL},
}


def room_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py") if len(relative.parts) > 1 else relative.stem


def imported_rooms(path: Path) -> set[str]:
    """The vpg_sim rooms a module imports, including imports inside functions."""
    rooms = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "vpg_sim" and len(parts) > 1:
                rooms.add(parts[1])
    return rooms


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_one_way(path):
    room = room_of(path)
    assert room in ALLOWED, f"{path.name} is in no known room: add it to docs/ARCHITECTURE.md and this test"
    allowed = ALLOWED[room] | ({room} if room in NEUTRAL else NEUTRAL | {room})
    forbidden = imported_rooms(path) - allowed
    assert not forbidden, f"{room} must not import {sorted(forbidden)}"


def test_the_window_never_reaches_into_the_trainer():
    for path in (PACKAGE / "ui").rglob("*.py"):
        text = path.read_text()
        assert "session.trainer" not in text and "session._trainer" not in text, path.name


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_holds_more_than_one_room_s_worth(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.name} has {lines} lines: split it along its jobs"


def test_the_checkpoint_record_is_defined_once():
    definitions = [
        path.name
        for path in PACKAGE.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef) and "policy_state" in ast.unparse(node) and "dataclass" in ast.unparse(node)
    ]
    assert definitions == ["checkpoint.py"]


def module_name(path: Path) -> str:
    parts = ("vpg_sim", *path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


KNOWN = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imported_modules(path: Path) -> set[str]:
    """The vpg_sim modules a module imports by name, under TYPE_CHECKING and inside
    functions too: ``from vpg_sim.a import b`` is ``vpg_sim.a.b`` where that is a module,
    else ``vpg_sim.a``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.startswith("vpg_sim"):
            for alias in node.names:
                found.add(f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in KNOWN else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in KNOWN)
    return found & KNOWN.keys()


def import_cycles() -> list[list[str]]:
    """Every strongly connected group of two or more modules (or a module importing itself)."""
    graph = {name: imported_modules(path) - {name} for name, path in KNOWN.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(name: str) -> None:  # Tarjan's algorithm
        index[name] = low[name] = len(index)
        stack.append(name)
        for other in graph[name]:
            if other not in index:
                visit(other)
                low[name] = min(low[name], low[other])
            elif other in stack:
                low[name] = min(low[name], index[other])
        if low[name] == index[name]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == name:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return cycles


def test_no_import_circles_anywhere_type_checking_imports_included():
    assert import_cycles() == []


def test_the_cycle_finder_finds_a_circle(monkeypatch, tmp_path):
    # Two modules that import each other (one only for type checking) are a circle.
    (tmp_path / "a.py").write_text("from vpg_sim.fake_b import thing\n")
    (tmp_path / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from vpg_sim.fake_a import x\n"
    )
    monkeypatch.setitem(KNOWN, "vpg_sim.fake_a", tmp_path / "a.py")
    monkeypatch.setitem(KNOWN, "vpg_sim.fake_b", tmp_path / "b.py")
    assert ["vpg_sim.fake_a", "vpg_sim.fake_b"] in import_cycles()


def test_every_package_folder_is_installed_by_pyproject():
    import tomllib

    listed = set(tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {module_name(path) for path in PACKAGE.rglob("__init__.py")}
    assert folders <= listed, f"not installed by pip: {sorted(folders - listed)}"


def test_the_core_never_changes_what_python_imports():
    # Putting a folder on sys.path is the command line's business (it imports the user's env
    # module): the core is imported by the window, the tests and other programs alike.
    for path in (PACKAGE / "core").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            touches = isinstance(node, ast.Attribute) and node.attr == "path" and getattr(node.value, "id", "") == "sys"
            assert not touches, f"{path.relative_to(PACKAGE)}:{node.lineno} uses sys.path"
