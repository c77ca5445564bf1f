"""A comparison group that trains a student's functions: one ``VPGTrainer`` per seed.

The population trainer (``core/population/``) updates all of a group's agents with one
hand-written batched update; a student's function is written for one batch of one run, so
a group with student code is trained as lone trainers instead, each with the student's
functions in its slots (one process for the group, called once per agent and update).
:class:`TrainerPopulation` answers what ``ComparisonRun`` asks of a population.

Cost: the seeds' updates run one after another rather than batched, so such a group is
slower than a population of the same size (measure: ``vpg-sim compare --headless``
prints each group's wall time).
"""

from __future__ import annotations

from collections.abc import Sequence

from vpg_sim.core.checkpoint import Checkpoint
from vpg_sim.core.config import VPGConfig
from vpg_sim.core.population.trainer import PopulationTrainer
from vpg_sim.core.student import StudentCode
from vpg_sim.core.trainer import UpdateStats, VPGTrainer
from vpg_sim.training.student_code import DEFAULT_TIMEOUT, StudentProcess, with_student_code


class TrainerPopulation:
    """``config`` trained with each of ``seeds``, each run a lone trainer with the
    student's functions ``code``; the methods ``ComparisonRun`` calls on a
    ``PopulationTrainer``, agent ``i`` being ``seeds[i]``."""

    def __init__(self, config: VPGConfig, seeds: Sequence[int], code: StudentCode, timeout: float = DEFAULT_TIMEOUT):
        self.process = StudentProcess(code, timeout)
        self.trainers: list[VPGTrainer] = []
        try:
            for seed in seeds:
                self.trainers.append(with_student_code(VPGTrainer(config.replace(seed=seed)), self.process))
        except BaseException:
            self.close()
            raise
        self.reward_threshold = self.trainers[0].reward_threshold
        self.slots = list(range(len(self.trainers)))
        """The running agents."""

    def train_update(self) -> dict[int, UpdateStats]:
        """One update of every running agent (StudentCodeError, one line, if the student's
        function fails: the agents updated so far keep their update)."""
        return {agent: self.trainers[agent].train_update() for agent in self.slots}

    def stop(self, agents: Sequence[int]) -> None:
        self.slots = [agent for agent in self.slots if agent not in set(agents)]

    def checkpoint_of(self, agent: int) -> Checkpoint:
        return self.trainers[agent].checkpoint()

    def env_steps(self, agent: int) -> int:
        return self.trainers[agent].env_steps

    def mean_return_100(self, agent: int) -> float:
        return self.trainers[agent].mean_return_100

    def solved(self, agent: int) -> bool:
        return self.trainers[agent].solved

    def take_new_returns(self, agent: int) -> list[float]:
        return self.trainers[agent].take_new_returns()

    def take_new_episodes(self, agent: int) -> tuple[list[float], list[int]]:
        """As :meth:`take_new_returns`, each with the env step it counts as ending at: a lone
        trainer does not keep each episode's end, so every episode of an update ends at the
        update's last step (a solve point late by up to a batch, for this group alone)."""
        returns = self.take_new_returns(agent)
        return returns, [self.env_steps(agent)] * len(returns)

    def close(self) -> None:
        for trainer in self.trainers:
            trainer.close()
        self.process.close()


def group_population(
    name: str, config: VPGConfig, seeds: Sequence[int], student: StudentCode | None
) -> PopulationTrainer | TrainerPopulation:
    """What trains a comparison group: the batched population, or, with a student's
    functions, lone trainers (see the module docstring)."""
    if student is None:
        return PopulationTrainer.from_groups({name: config}, seeds)
    return TrainerPopulation(config, seeds, student)
