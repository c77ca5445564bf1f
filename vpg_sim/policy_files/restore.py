"""Turning a loaded policy file back into something that runs."""

from __future__ import annotations

from vpg_sim.core.config import ConfigChange
from vpg_sim.core.networks import Policy
from vpg_sim.core.trainer import VPGTrainer, restore_trainer
from vpg_sim.policy_files.policy_file import LoadedPolicy, PolicyFileError, build_networks, check_matches_env


def trainer_from_file(loaded: LoadedPolicy, seed: int | None = None) -> VPGTrainer:
    """A trainer with the file's config and weights; training continues its update count."""
    config = loaded.config if seed is None else loaded.config.replace(seed=seed)
    trainer = VPGTrainer(config)
    try:
        check_matches_env(loaded, trainer.envs)
        restore_trainer(
            trainer,
            loaded.policy_state,
            loaded.value_state,
            loaded.policy_optimizer_state,
            loaded.value_optimizer_state,
            updates=loaded.metadata.update,
            env_steps=loaded.metadata.env_steps,
        )
        trainer.config_changes = [
            ConfigChange(
                int(change["update"]),
                int(change["episode"]),
                {str(name): float(value) for name, value in change["changes"].items()},
            )
            for change in loaded.metadata.config_changes
        ]
    except PolicyFileError:
        trainer.close()
        raise
    except (RuntimeError, ValueError, KeyError, TypeError, AttributeError) as error:
        # torch's shape and state-dict complaints, and malformed knob history in the metadata
        trainer.close()
        raise PolicyFileError(loaded.path, f"cannot be restored ({str(error).splitlines()[0]})") from None
    return trainer


def policy_from_file(loaded: LoadedPolicy) -> Policy:
    """Just the policy network, with the file's weights (for evaluation)."""
    policy, _ = build_networks(loaded.metadata, loaded.config, loaded.path)
    policy.load_state_dict(loaded.policy_state)
    return policy
