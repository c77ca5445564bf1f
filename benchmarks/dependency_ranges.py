"""Do the dependency ranges in pyproject.toml hold at their ends? numpy, gymnasium, matplotlib, scipy.

    python benchmarks/dependency_ranges.py            # both ends; needs the registry
    python benchmarks/dependency_ranges.py --keep DIR # leave the venvs in DIR

For each of numpy, gymnasium, matplotlib and scipy it asks the registry which versions exist
(``pip index versions``), keeps those its range in ``pyproject.toml`` allows, and takes
the lowest and the highest. For each end it makes a fresh venv, installs those four
versions there (binary wheels, with their own dependencies), then lets the venv see this
interpreter's site-packages *behind* its own for everything else (torch, pygame-ce,
pytest...: torch is pinned exactly, and copying 700 MB of it again would test nothing
about the ranges), prints the versions it imports, and runs a set of tests that use all
three. Exit 0 only if both ends pass.

Slow (a few minutes: two installs and two test runs) and it needs the network, so it
is a script, not part of the test suite.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import sysconfig
import tempfile
import time
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("numpy", "gymnasium", "matplotlib", "scipy")
TESTS = [
    "tests/test_advantages.py",
    "tests/test_estimators.py",
    "tests/test_trainer.py",
    "tests/test_population.py",
    "tests/test_policy_map.py",  # the map's matplotlib figure
    "tests/test_comparison.py",  # the comparison's matplotlib figure
    "tests/test_statistics.py",  # scipy's bootstrap, t quantile and ranks
    "tests/test_cli.py",
    "tests/test_student_adapter.py",
    "tests/test_student_check.py",
    "tests/test_student_training.py",
]


def declared_ranges() -> dict[str, Requirement]:
    """PACKAGES' requirements as pyproject.toml declares them."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = {Requirement(text).name.lower(): Requirement(text) for text in project["dependencies"]}
    return {name: requirements[name] for name in PACKAGES}


def registry_versions(name: str) -> list[Version]:
    """Every release of ``name`` the registry offers (pre-releases left out)."""
    output = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", name], capture_output=True, text=True, check=True
    ).stdout
    listed = re.search(r"Available versions: (.*)", output)
    if listed is None:
        raise SystemExit(f"no versions of {name} in the registry's answer: {output.strip()[:200]}")
    versions = [Version(text.strip()) for text in listed.group(1).split(",")]
    return [version for version in versions if not version.is_prerelease]


def ends(ranges: dict[str, Requirement]) -> dict[str, dict[str, str]]:
    """{"lowest": {package: version}, "highest": {...}} within each declared range."""
    chosen: dict[str, dict[str, str]] = {"lowest": {}, "highest": {}}
    for name, requirement in ranges.items():
        allowed = sorted(v for v in registry_versions(name) if requirement.specifier.contains(v))
        if not allowed:
            raise SystemExit(f"the registry has no {name} in {requirement.specifier}")
        chosen["lowest"][name], chosen["highest"][name] = str(allowed[0]), str(allowed[-1])
    return chosen


def try_end(label: str, versions: dict[str, str], folder: Path) -> bool:
    """Install ``versions`` in a fresh venv in ``folder`` and run :data:`TESTS` there."""
    started = time.monotonic()
    venv = folder / label
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    pins = [f"{name}=={version}" for name, version in versions.items()]
    # Before the shared site-packages are linked: pip must neither see nor touch them.
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--only-binary=:all:", *pins], check=True)
    own = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # A .pth line appends this interpreter's packages to the venv's path, after its own.
    (Path(own) / "zz_shared_packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    imported = subprocess.run(
        [str(python), "-c", "; ".join([f"import {n}" for n in PACKAGES]) + "; print("
         + ", ".join(f"{n}.__version__" for n in PACKAGES) + ")"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    ).stdout.split()  # fmt: skip
    tests = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning", *TESTS],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    summary = tests.stdout.strip().splitlines()[-1] if tests.stdout.strip() else tests.stderr.strip()[-200:]
    shown = ", ".join(f"{name} {version}" for name, version in zip(PACKAGES, imported, strict=True))
    print(f"{label:>8}: {shown}: {summary} ({time.monotonic() - started:.0f} s)", flush=True)
    if imported != [versions[name] for name in PACKAGES]:
        print(f"{label:>8}: imported {imported}, not the versions installed {versions}", flush=True)
        return False
    return tests.returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, metavar="DIR", help="make the venvs in DIR and leave them there")
    args = parser.parse_args()
    ranges = declared_ranges()
    print("declared: " + "; ".join(str(requirement) for requirement in ranges.values()), flush=True)
    chosen = ends(ranges)
    with tempfile.TemporaryDirectory() as temporary:
        folder = args.keep or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        results = [try_end(label, versions, folder) for label, versions in chosen.items()]
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
