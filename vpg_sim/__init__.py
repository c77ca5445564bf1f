"""vpg-sim: watch a Vanilla Policy Gradient agent learn, live.

Packages, and the direction of their imports:

- ``core``: the algorithm (networks, rollout storage, advantages, the update).
  Imports nothing else from this package.
- ``training``: runs the core in a background thread and publishes snapshots.
- ``policy_files``: saves and loads policies; depends on ``core`` only.
- ``ui``: the pygame window; reads snapshots from ``training``.
"""

__version__ = "0.2.0"
