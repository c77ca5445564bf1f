"""Policy files: safetensors weights and metadata, written atomically, loaded safely."""

from vpg_sim.policy_files.errors import PolicyFileError
from vpg_sim.policy_files.policy_file import LoadedPolicy, load_policy, read_metadata, save_policy
from vpg_sim.policy_files.restore import check_env, policy_from_file, trainer_from_file
from vpg_sim.policy_files.schema import SUFFIX, PolicyMetadata

__all__ = [
    "SUFFIX",
    "LoadedPolicy",
    "PolicyFileError",
    "PolicyMetadata",
    "check_env",
    "load_policy",
    "policy_from_file",
    "read_metadata",
    "save_policy",
    "trainer_from_file",
]
