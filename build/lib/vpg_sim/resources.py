"""Files that ship with vpg-sim: the fonts and icon, and a trained CartPole policy.

Found beside the code, so that an installed ``vpg-sim`` works from any folder: in a
checkout they are the repository's ``assets/`` and ``saved_models/``; in an installed
package, the same files copied into ``vpg_sim/assets`` and ``vpg_sim/shipped`` (see
pyproject.toml). A neutral module: it imports nothing of vpg-sim.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
SHIPPED_POLICY_NAME = "cartpole-v1.safetensors"


def _first_existing(*candidates: Path) -> Path:
    return next((path for path in candidates if path.exists()), candidates[-1])


def assets_dir() -> Path:
    """The folder of the fonts and the icon."""
    return _first_existing(PACKAGE / "assets", PACKAGE.parent / "assets")


def shipped_policy() -> Path:
    """The CartPole policy that ships with vpg-sim (trained by the README's command)."""
    installed = PACKAGE / "shipped" / SHIPPED_POLICY_NAME
    return _first_existing(installed, PACKAGE.parent / "saved_models" / SHIPPED_POLICY_NAME)
