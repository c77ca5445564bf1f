"""Turning a loaded policy file back into something that runs."""

from __future__ import annotations

import gymnasium as gym

from vpg_sim.core.envs import UnsupportedEnvError, make_single_env
from vpg_sim.core.networks import Policy
from vpg_sim.core.trainer import VPGTrainer
from vpg_sim.policy_files.errors import PolicyFileError
from vpg_sim.policy_files.policy_file import LoadedPolicy, check_matches_env
from vpg_sim.policy_files.schema import build_networks


def check_env(loaded: LoadedPolicy) -> None:
    """Refuse a policy whose spaces differ from its env's as installed: a file whose config
    says Acrobot around CartPole's weights, or an env whose new version changed its spaces.

    Training on, playing and ``eval`` all call it first, so a mismatch is this one line
    rather than a shape error from torch.
    """
    try:
        env = make_single_env(loaded.config.env_id)
    except (UnsupportedEnvError, gym.error.Error) as error:
        raise PolicyFileError(loaded.path, f"names an env that cannot be made here ({error})") from None
    try:
        check_matches_env(loaded, env)
    finally:
        env.close()


def trainer_from_file(loaded: LoadedPolicy) -> VPGTrainer:
    """A trainer that trains on from the file: the same run, where it stopped (see
    :meth:`VPGTrainer.from_checkpoint`). Any mismatch is a one-line :class:`PolicyFileError`."""
    check_env(loaded)
    try:
        return VPGTrainer.from_checkpoint(loaded.checkpoint)
    except (RuntimeError, ValueError, LookupError, TypeError, ArithmeticError) as error:
        # The file was checked on its own; what is left is its fit with the env as
        # installed (a resume state of another kind of env) and torch's own complaints.
        raise PolicyFileError(loaded.path, f"cannot be restored ({str(error).splitlines()[0]})") from None


def policy_from_file(loaded: LoadedPolicy) -> Policy:
    """Just the policy network, with the file's weights (for evaluation)."""
    policy, _ = build_networks(loaded.metadata, loaded.config)
    policy.load_state_dict(loaded.checkpoint.policy_state)
    return policy
