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
    "ui": {"core", "training", "policy_files"},
    "cli": {"core", "training", "policy_files", "ui"},
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


def test_the_core_never_changes_what_python_imports():
    # Putting a folder on sys.path is the command line's business (it imports the user's env
    # module): the core is imported by the window, the tests and other programs alike.
    for path in (PACKAGE / "core").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            touches = isinstance(node, ast.Attribute) and node.attr == "path" and getattr(node.value, "id", "") == "sys"
            assert not touches, f"{path.relative_to(PACKAGE)}:{node.lineno} uses sys.path"
