"""Two groups of seeds trained side by side, round by round: the comparison's training.

Each group is one config trained with every seed, as one
:class:`~vpg_sim.core.population.trainer.PopulationTrainer`: a group's runs are exactly what they
would be without the other group (they share no tensor, and a critic-free group's whole
episodes pad nothing of the other's). A round is one update of every running agent of
each group. An agent stops once it has trained ``max_steps`` env steps; the comparison is
finished when every agent has stopped or (unless told not to) every agent has solved.
Solved agents train on until then, so every curve is what really happened, not a solved
value carried forward. Runs whose seeds will be pooled with other runs' (``--json-out``,
``--until-decided``) train every seed to its budget: stopping where this run's own seeds
happened to solve would end the pooled curves at the fastest shard.

Used in a thread by the comparison and sweep windows (``population_session.py``);
the headless ``compare`` and ``sweep`` train the same records in worker processes
(``parallel.py``); the statistics are ``core/comparison.py``'s.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from vpg_sim.core.checkpoint import Checkpoint
from vpg_sim.core.comparison import Curve, GroupResult, first_crossing
from vpg_sim.core.config import VPGConfig
from vpg_sim.core.population.trainer import PopulationTrainer
from vpg_sim.core.rollout import RECENT_EPISODES
from vpg_sim.core.student import StudentCode
from vpg_sim.training.student_population import TrainerPopulation, group_population


@dataclass(frozen=True)
class Group:
    """One side of a comparison: ``name`` (A or B), its config, and ``label``: how it
    differs from the other (``estimator=total-return``, or ``default``)."""

    name: str
    config: VPGConfig
    label: str
    difference: dict[str, object]
    student: StudentCode | None = None
    """A student's functions in the group's updates (``training/student_population.py``)."""


class AgentRecord:
    """One agent's curve and solve point, grown after each of its updates."""

    def __init__(self) -> None:
        self.env_steps: list[int] = []
        self.returns: list[float] = []
        self.steps_to_solve: int | None = None
        """The env step at which the episode ended whose return brought the mean of the
        last 100 to the threshold: mid-batch, not the update's end. Measured on the README's
        lesson (seeds 0-15): baseline's fixed 1,024-step batches put it 467 steps before the
        update's end on average (at most 928); total-return's whole-episode batches start
        every env afresh, so the 500-step episodes that lift the mean end with the batch,
        and all 16 solve points stayed where the update's end had put them."""
        self.recent_returns: collections.deque[float] = collections.deque(maxlen=RECENT_EPISODES)

    def add_episodes(self, returns: list[float], end_steps: list[int], threshold: float | None) -> None:
        """Episodes finished in the agent's last update, oldest first, with the env steps at each one's end."""
        if self.steps_to_solve is None and threshold is not None:
            crossing = first_crossing(self.recent_returns, returns, threshold, RECENT_EPISODES)
            if crossing is not None:
                self.steps_to_solve = end_steps[crossing]
        self.recent_returns.extend(returns)

    def curve(self) -> Curve:
        return Curve(np.array(self.env_steps, dtype=np.int64), np.array(self.returns, dtype=np.float64))


class RecordedRun:
    """What a run of groups x seeds has recorded, read the same way whichever engine
    trained it (:class:`ComparisonRun` here, ``parallel.py``'s worker processes)."""

    groups: list[Group]
    seeds: list[int]
    max_steps: dict[str, int]
    records: dict[str, list[AgentRecord]]

    def curves(self, name: str) -> list[Curve]:
        """Group ``name``'s curves, in seed order."""
        return [record.curve() for record in self.records[name]]

    def steps_to_solve(self, name: str) -> list[int | None]:
        return [record.steps_to_solve for record in self.records[name]]

    def result(self, group: Group) -> GroupResult:
        """What the group's seeds gave so far (plain data: a sweep's worker returns it)."""
        return GroupResult(
            name=group.name,
            label=group.label,
            difference=dict(group.difference),
            config=group.config,
            max_steps=self.max_steps[group.name],
            seeds=tuple(self.seeds),
            curves=tuple(self.curves(group.name)),
            steps_to_solve=tuple(self.steps_to_solve(group.name)),
        )

    def results(self) -> list[GroupResult]:
        return [self.result(group) for group in self.groups]

    def means_now(self, name: str) -> list[float]:
        """Each agent's newest mean of its last 100 returns, in seed order (NaN before any)."""
        return [record.returns[-1] if record.returns else math.nan for record in self.records[name]]

    def mean_return_100(self, name: str) -> float:
        """The mean over the group's seeds of their newest mean return (NaN before any)."""
        latest = [record.returns[-1] for record in self.records[name] if record.returns]
        finite = [value for value in latest if math.isfinite(value)]
        return float(np.mean(finite)) if finite else math.nan


class ComparisonRun(RecordedRun):
    """Both groups' populations and what they have done so far.

    :param groups: the two sides (any number works; the window and the figure take two).
    :param seeds: every group trains each of them.
    :param max_steps: per agent, None: each group's ``config.total_steps``.
    :param stop_when_all_solved: False trains every agent to its budget.
    :param stop_sets: groups that stop together once all their agents solved (None: all
        groups, as a comparison; a sweep's window: each cell alone, as the headless sweep).
    """

    def __init__(
        self,
        groups: Sequence[Group],
        seeds: Sequence[int],
        max_steps: int | None = None,
        stop_when_all_solved: bool = True,
        stop_sets: Sequence[Sequence[str]] | None = None,
    ) -> None:
        self.groups = list(groups)
        self.seeds = list(seeds)
        self.max_steps = {g.name: max_steps or g.config.total_steps for g in self.groups}
        self.stop_when_all_solved = stop_when_all_solved
        self.stop_sets = [list(names) for names in (stop_sets or [[g.name for g in self.groups]])]
        self.populations: dict[str, PopulationTrainer | TrainerPopulation] = {}
        try:
            for group in self.groups:
                self.populations[group.name] = group_population(group.name, group.config, self.seeds, group.student)
        except BaseException:
            self.close()
            raise
        self.records = {g.name: [AgentRecord() for _ in self.seeds] for g in self.groups}
        self.rounds = 0
        self.reward_threshold = next(iter(self.populations.values())).reward_threshold

    # -- training --------------------------------------------------------------------

    def train_round(self) -> None:
        """One update of every running agent of each group; then stop the agents at their
        step budget, and every agent of a stop set whose agents have all solved."""
        for group in self.groups:
            population = self.populations[group.name]
            stats = population.train_update()
            for agent, update in stats.items():
                record = self.records[group.name][agent]
                record.env_steps.append(update.env_steps)
                record.returns.append(update.mean_return_100)
                record.add_episodes(*population.take_new_episodes(agent), self.reward_threshold)
            population.stop([agent for agent in population.slots if self._spent(group.name, agent)])
        if self.stop_when_all_solved:
            for names in self.stop_sets:
                if all(record.steps_to_solve is not None for name in names for record in self.records[name]):
                    for name in names:
                        self.populations[name].stop(list(self.populations[name].slots))
        self.rounds += 1

    def _spent(self, name: str, agent: int) -> bool:
        return self.populations[name].env_steps(agent) >= self.max_steps[name]

    @property
    def all_solved(self) -> bool:
        return all(record.steps_to_solve is not None for records in self.records.values() for record in records)

    @property
    def finished(self) -> bool:
        """Every agent has stopped (its budget spent, or all solved)."""
        return not any(population.slots for population in self.populations.values())

    def running_agents(self, name: str) -> int:
        return len(self.populations[name].slots)

    def stage_checkpoint(self, name: str, agent: int = 0) -> Checkpoint:
        """What the stage of group ``name`` plays: its agent's policy and critic now."""
        return self.populations[name].checkpoint_of(agent)

    def agent_policies(self, name: str) -> list[dict[str, torch.Tensor]]:
        """Every agent's policy network of group ``name`` now, in seed order (the seed wall)."""
        population = self.populations[name]
        if isinstance(population, PopulationTrainer):
            return [population.policy_state_of(agent) for agent in range(len(self.seeds))]
        return [population.checkpoint_of(agent).policy_state for agent in range(len(self.seeds))]

    def env_steps(self, name: str) -> list[int]:
        """Each agent's env steps so far, in seed order."""
        population = self.populations[name]
        return [population.env_steps(agent) for agent in range(len(self.seeds))]

    def close(self) -> None:
        for population in self.populations.values():
            population.close()
