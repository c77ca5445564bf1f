"""A user's env that fails mid-training, registered on import: for ``--env
tests.failing_env_module:ExplodingWalk-v0`` (a worker process must report it in one line)."""

import gymnasium as gym

from tests.custom_env_module import LineWalk


class ExplodingWalk(LineWalk):
    """LineWalk whose 50th step raises, as a buggy student env might."""

    steps = 0

    def step(self, action: int):
        ExplodingWalk.steps += 1
        if ExplodingWalk.steps >= 50:
            raise RuntimeError("the env's own bug\nand a second line no one should see")
        return super().step(action)


if "ExplodingWalk-v0" not in gym.registry:
    gym.register("ExplodingWalk-v0", entry_point=ExplodingWalk, max_episode_steps=20)
