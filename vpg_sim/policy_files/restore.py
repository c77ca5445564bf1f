"""Turning a loaded policy file back into something that runs."""

from __future__ import annotations

from vpg_sim.core.networks import Policy
from vpg_sim.core.trainer import VPGTrainer
from vpg_sim.policy_files.errors import PolicyFileError
from vpg_sim.policy_files.policy_file import LoadedPolicy, check_matches_env
from vpg_sim.policy_files.schema import build_networks


def trainer_from_file(loaded: LoadedPolicy) -> VPGTrainer:
    """A trainer that trains on from the file: the same run, where it stopped (see
    :meth:`VPGTrainer.from_checkpoint`). Any mismatch is a one-line :class:`PolicyFileError`."""
    try:
        trainer = VPGTrainer.from_checkpoint(loaded.checkpoint)
    except (RuntimeError, ValueError, LookupError, TypeError, ArithmeticError) as error:
        # The file was checked on its own; what is left is its fit with the env as
        # installed (a resume state of another kind of env) and torch's own complaints.
        raise PolicyFileError(loaded.path, f"cannot be restored ({str(error).splitlines()[0]})") from None
    try:
        check_matches_env(loaded, trainer.collector.envs)
    except PolicyFileError:
        trainer.close()
        raise
    return trainer


def policy_from_file(loaded: LoadedPolicy) -> Policy:
    """Just the policy network, with the file's weights (for evaluation)."""
    policy, _ = build_networks(loaded.metadata, loaded.config)
    policy.load_state_dict(loaded.checkpoint.policy_state)
    return policy
