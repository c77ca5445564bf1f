"""Policy files: safetensors weights and metadata, written atomically, loaded safely."""

from vpg_sim.policy_files.errors import PolicyFileError
from vpg_sim.policy_files.policy_file import (
    SUFFIX,
    LoadedPolicy,
    PolicyMetadata,
    load_policy,
    read_metadata,
    save_policy,
)
from vpg_sim.policy_files.restore import policy_from_file, trainer_from_file

__all__ = [
    "SUFFIX",
    "LoadedPolicy",
    "PolicyFileError",
    "PolicyMetadata",
    "load_policy",
    "policy_from_file",
    "read_metadata",
    "save_policy",
    "trainer_from_file",
]
