"""pyproject.toml's ranges and constraints.txt's pins agree: CI tests inside the ranges."""

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent


def pins() -> dict[str, Version]:
    pinned = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        text = line.split("#")[0].strip()
        if text:
            name, _, version = text.partition("==")
            pinned[canonicalize_name(name)] = Version(version)
    return pinned


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(text) for text in project["dependencies"] + project["optional-dependencies"]["tensorboard"]]


def test_every_dependency_is_pinned_inside_its_declared_range():
    pinned = pins()
    for requirement in declared():
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{name} has no pin in constraints.txt"
        assert requirement.specifier.contains(pinned[name]), f"{name} {pinned[name]} outside {requirement.specifier}"


def test_torch_stays_exact_everywhere():
    [torch] = [requirement for requirement in declared() if requirement.name == "torch"]
    assert str(torch.specifier).startswith("==")
    assert str(pins()["torch"]) == str(torch.specifier)[2:]


def test_the_requirements_files_name_no_version_of_their_own():
    # One place for the versions: a pin here would drift from constraints.txt's.
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (ROOT / name).read_text().splitlines():
            text = line.split("#")[0].strip()
            assert not any(mark in text for mark in "=<>~"), f"{name}: {text}"
    assert "-c constraints.txt" in (ROOT / "requirements.txt").read_text().splitlines()
