"""What a worker of ``ParallelRun`` trains, and how its agents are placed over the workers.

Placement (:func:`place`) rests on one property of the population (tested in
``tests/test_population.py``): an agent whose batch has a fixed length (every estimator
but the critic-free ones) gives the same numbers, to the bit, in any population of
fixed-length agents of its config class (configs equal but in ``PER_AGENT_FIELDS``).
So fixed-length agents of one class are pooled and dealt over the workers (each seed
to the least loaded, so that every group is spread evenly and the workers' loads stay
even as groups stop), while a group of a critic-free estimator (its batches are whole
episodes, whose padding would round its neighbours' sums differently) trains in fixed
chunks of its seeds (:data:`WHOLE_EPISODE_CHUNK`), each a population of its own. The
numbers therefore do not depend on ``workers``, nor on whether a group trains here or
alone (``sweep_run.py``'s Ray tasks train one cell each). They are ``ComparisonRun``'s
to the bit but for a critic-free group of more than 8 seeds, which it trains as one
population: there they agree within float rounding.

A worker (:class:`PopulationsWorker`) trains its populations a round at a time, in this
process or in a child (:func:`serve_worker`, which ``worker_process.py`` starts).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from vpg_sim.core.advantages import CRITIC_FREE
from vpg_sim.core.config import VPGConfig
from vpg_sim.core.population.trainer import PER_AGENT_FIELDS, PopulationTrainer
from vpg_sim.core.student import StudentCode
from vpg_sim.training.student_population import TrainerPopulation


@dataclass(frozen=True, order=True)
class Member:
    """One agent of a run: the seed at ``seed_index`` of group ``group``."""

    group: str
    seed_index: int


@dataclass(frozen=True)
class PopulationPlan:
    """One population of a worker: its agents' configs, and who each agent is."""

    configs: tuple[VPGConfig, ...]
    members: tuple[Member, ...]
    student: StudentCode | None = None
    """A student's functions: the agents train as lone trainers (only in this process)."""


Report = tuple[Member, int, float, list[float], list[int]]
"""After a round, per agent that trained: env steps so far, mean return of its last 100
episodes, and the episodes it finished in the round: their returns and the env steps at
each one's end (the parent finds the solve point in them, as ``ComparisonRun`` does)."""


def config_class(config: VPGConfig) -> tuple[Any, ...]:
    """What agents pooled in one population must share: every field but the per-agent
    ones, and whether batches are whole episodes."""
    shared = {k: v for k, v in config.to_dict().items() if k not in PER_AGENT_FIELDS}
    return (config.estimator in CRITIC_FREE, repr(sorted(shared.items())))


WHOLE_EPISODE_CHUNK = 8
"""A critic-free group trains as populations of at most this many of its seeds (seeds
0, 2, 4, ... and 1, 3, 5, ... for 16), whatever the number of workers: so it can be spread
over them (in a comparison with a learned baseline, the critic-free group's solved agents
play 500-step episodes to the end while the other group's last seed learns: unsplit, it
took 90% of the time). Its 16 seeds as 2 x 8 trained as fast as as 1 x 16 on one core
(33.8 s and 33.5 s to the last solved); as 4 x 4, 39.7 s."""


def place(
    groups: Mapping[str, VPGConfig],
    seeds: Sequence[int],
    workers: int,
    students: Mapping[str, StudentCode] | None = None,
) -> list[list[PopulationPlan]]:
    """Every (group, seed) agent placed in a population of a worker (see the module's
    docstring): per worker, its populations (possibly none). A group in ``students``
    goes whole to worker 0 (this process), as lone trainers."""
    students = dict(students or {})
    loads = [0] * workers
    placed: list[dict[Any, list[tuple[VPGConfig, Member]]]] = [{} for _ in range(workers)]

    def put(worker: int, key: Any, agents: list[tuple[VPGConfig, Member]]) -> None:
        placed[worker].setdefault(key, []).extend(agents)
        loads[worker] += len(agents)

    for name in students:
        put(0, ("student", name), [(groups[name].replace(seed=seed), Member(name, i)) for i, seed in enumerate(seeds)])
    groups = {name: config for name, config in groups.items() if name not in students}
    whole = [name for name, config in groups.items() if config.estimator in CRITIC_FREE]
    for name in whole:  # in chunks of fixed seeds, each to the least loaded worker
        agents = [(groups[name].replace(seed=seed), Member(name, index)) for index, seed in enumerate(seeds)]
        chunks = -(-len(agents) // WHOLE_EPISODE_CHUNK)
        for chunk in range(chunks):
            put(loads.index(min(loads)), ("whole", name, chunk), agents[chunk::chunks])
    classes: dict[Any, list[str]] = {}
    for name, config in groups.items():
        if name not in whole:
            classes.setdefault(config_class(config), []).append(name)
    for key, names in classes.items():
        for name in names:  # each seed to the least loaded worker: every group spread evenly
            for index, seed in enumerate(seeds):
                put(loads.index(min(loads)), key, [(groups[name].replace(seed=seed), Member(name, index))])
    return [
        [
            PopulationPlan(
                tuple(c for c, _ in agents),
                tuple(m for _, m in agents),
                students[key[1]] if key[0] == "student" else None,
            )
            for key, agents in populations.items()
        ]
        for populations in placed
    ]


class PopulationsWorker:
    """One worker's populations, trained a round at a time (in a child process, or here).

    :param max_steps: per group, the env steps each agent trains at most: an agent stops
        here once it has trained them (nothing else need be known to decide that).
    """

    def __init__(self, plans: Sequence[PopulationPlan], max_steps: Mapping[str, int]) -> None:
        self.max_steps = dict(max_steps)
        self.populations: list[PopulationTrainer | TrainerPopulation] = []
        self.members: list[tuple[Member, ...]] = []
        self.rounds = 0
        self._stops: dict[Member, int] = {}
        """Agents to stop once they have trained this many rounds (their stop set solved)."""
        try:
            for plan in plans:
                if plan.student is None:
                    self.populations.append(PopulationTrainer(list(plan.configs)))
                else:
                    seeds = [config.seed for config in plan.configs]
                    self.populations.append(TrainerPopulation(plan.configs[0], seeds, plan.student))
                self.members.append(plan.members)
        except BaseException:
            self.close()
            raise

    @property
    def running(self) -> bool:
        return any(population.slots for population in self.populations)

    def stop(self, stops: Mapping[Member, int]) -> None:
        """Stop each agent once it has trained ``stops[agent]`` rounds (at once if it has)."""
        self._stops.update(stops)
        self._stop_due()

    def _stop_due(self) -> None:
        for population, members in zip(self.populations, self.members, strict=True):
            due = [agent for agent in population.slots if self._stops.get(members[agent], math.inf) <= self.rounds]
            population.stop(due)

    def train_round(self) -> tuple[int, list[Report]]:
        """One update of every running agent; the round's number (from 1) and its reports.
        Agents that reached their step budget stop."""
        self.rounds += 1
        reports: list[Report] = []
        for population, members in zip(self.populations, self.members, strict=True):
            spent = []
            for agent, update in population.train_update().items():
                member = members[agent]
                returns, end_steps = population.take_new_episodes(agent)
                reports.append((member, update.env_steps, update.mean_return_100, returns, end_steps))
                if update.env_steps >= self.max_steps[member.group]:
                    spent.append(agent)
            population.stop(spent)
        self._stop_due()
        return self.rounds, reports

    def close(self) -> None:
        for population in self.populations:
            population.close()


def error_line(error: BaseException) -> str:
    """``error`` in one line: its type and the first line of its message."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"


LEAD = 8
"""Rounds a worker may train ahead of the slowest: enough to ride out another job taking a
core for a while (a worker waiting for the others each round was slower with 2 workers
than with 1 on a loaded machine), little enough that a stop set found solved wastes few."""


def serve_worker(
    connection: Connection, plans: Sequence[PopulationPlan], max_steps: Mapping[str, int], env_import: str | None
) -> None:
    """A worker process's work (``worker_process.py`` starts it): build the populations,
    then train round after round, sending each round's reports, as far as the parent
    permits; take stops and permits as they come."""
    import torch

    torch.set_num_threads(VPGConfig.torch_threads)
    try:
        if env_import is not None:  # a spawned process has only Gymnasium's own envs registered
            importlib.import_module(env_import)  # sys.path is the parent's (spawn passes it on)
        worker = PopulationsWorker(plans, max_steps)
    except Exception as error:
        connection.send(("error", error_line(error)))
        return
    permitted = LEAD
    try:
        while True:
            while connection.poll() or not worker.running or worker.rounds >= permitted:
                try:
                    message = connection.recv()
                except EOFError:  # the parent has gone
                    return
                if message is None:
                    return
                kind, payload = message
                if kind == "stop":
                    worker.stop(payload)
                else:
                    permitted = payload
            try:
                connection.send(("round", worker.train_round()))
            except Exception as error:
                connection.send(("error", error_line(error)))
                return
    finally:
        worker.close()
