"""Groups of seeds trained in worker processes, round by round: a sweep's (and a comparison's) engine.

A run is groups (each one config trained with every seed, as ``ComparisonRun`` trains
its groups) and stop sets: groups that stop together once every agent in them has
solved (a comparison's two groups; a sweep's cell on its own). A round is one update
of every running agent; after it the parent stops the agents at their step budget and
the stop sets whose agents have all solved, exactly as ``ComparisonRun.train_round``.

The agents live in ``workers`` processes, each holding a few ``PopulationTrainer``s; the
parent sends every worker the round's stops and its order to train, then reads every
worker's reports, so the workers train their share of a round at the same time.

**Placement** (:func:`place`) rests on one property of the population (tested in
``tests/test_population.py``): an agent whose batch has a fixed length (every estimator
but the critic-free ones) gives the same numbers, to the bit, in any population of
fixed-length agents of its config class (configs equal but in ``PER_AGENT_FIELDS``).
So fixed-length agents of one class are pooled and dealt over the workers (each seed
to the least loaded, so that every group is spread evenly and the workers' loads stay
even as groups stop), while a group of a critic-free estimator (its batches are whole episodes, whose
padding would round its neighbours' sums differently) stays one population of its own.
The numbers therefore do not depend on ``workers``, nor on whether a group trains here
or alone (``sweep_run.py``'s Ray tasks train one cell each).
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from vpg_sim.core.advantages import CRITIC_FREE
from vpg_sim.core.comparison import Curve, GroupSummary, summarize_group
from vpg_sim.core.config import VPGConfig
from vpg_sim.core.envs import import_env_module, reward_threshold
from vpg_sim.core.population.trainer import PER_AGENT_FIELDS, PopulationTrainer
from vpg_sim.training.comparison_run import AgentRecord, Group


class WorkerError(RuntimeError):
    """A worker failed (its message is one line: the error's type and first line)."""


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


Report = tuple[Member, int, float, bool]
"""After a round, per agent that trained: env steps so far, mean return of its last 100
episodes, and whether it is solved."""


def config_class(config: VPGConfig) -> tuple[Any, ...]:
    """What agents pooled in one population must share: every field but the per-agent
    ones, and whether batches are whole episodes."""
    shared = {k: v for k, v in config.to_dict().items() if k not in PER_AGENT_FIELDS}
    return (config.estimator in CRITIC_FREE, repr(sorted(shared.items())))


def place(groups: Mapping[str, VPGConfig], seeds: Sequence[int], workers: int) -> list[list[PopulationPlan]]:
    """Every (group, seed) agent placed in a population of a worker (see the module's
    docstring): per worker, its populations (possibly none)."""
    loads = [0] * workers
    placed: list[dict[Any, list[tuple[VPGConfig, Member]]]] = [{} for _ in range(workers)]

    def put(worker: int, key: Any, agents: list[tuple[VPGConfig, Member]]) -> None:
        placed[worker].setdefault(key, []).extend(agents)
        loads[worker] += len(agents)

    whole = [name for name, config in groups.items() if config.estimator in CRITIC_FREE]
    for name in whole:  # indivisible, in the order given: each to the least loaded worker
        agents = [(groups[name].replace(seed=seed), Member(name, index)) for index, seed in enumerate(seeds)]
        put(loads.index(min(loads)), ("whole", name), agents)
    classes: dict[Any, list[str]] = {}
    for name, config in groups.items():
        if name not in whole:
            classes.setdefault(config_class(config), []).append(name)
    for key, names in classes.items():
        for name in names:  # each seed to the least loaded worker: every group spread evenly
            for index, seed in enumerate(seeds):
                put(loads.index(min(loads)), key, [(groups[name].replace(seed=seed), Member(name, index))])
    return [
        [PopulationPlan(tuple(c for c, _ in agents), tuple(m for _, m in agents)) for agents in populations.values()]
        for populations in placed
    ]


class PopulationsWorker:
    """One worker's populations, trained a round at a time (in a child process, or here)."""

    def __init__(self, plans: Sequence[PopulationPlan]) -> None:
        self.populations: list[PopulationTrainer] = []
        self.members: list[tuple[Member, ...]] = []
        try:
            for plan in plans:
                self.populations.append(PopulationTrainer(list(plan.configs)))
                self.members.append(plan.members)
        except BaseException:
            self.close()
            raise

    def train_round(self, stopping: Sequence[Member]) -> list[Report]:
        """Stop ``stopping``, then one update of every running agent; its reports."""
        stop = set(stopping)
        reports: list[Report] = []
        for population, members in zip(self.populations, self.members, strict=True):
            population.stop([agent for agent in population.slots if members[agent] in stop])
            for agent, update in population.train_update().items():
                population.take_new_returns(agent)  # the curve is the mean of the last 100: they need not pile up
                reports.append((members[agent], update.env_steps, update.mean_return_100, population.solved(agent)))
        return reports

    def close(self) -> None:
        for population in self.populations:
            population.close()


def error_line(error: BaseException) -> str:
    """``error`` in one line: its type and the first line of its message."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"


def _serve(connection: Connection, plans: Sequence[PopulationPlan], env_import: str | None) -> None:
    """A worker process: build the populations, then answer each round's order with its reports."""
    import torch

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it closes us
    torch.set_num_threads(VPGConfig.torch_threads)
    try:
        if env_import is not None:  # a spawned process has only Gymnasium's own envs registered
            import_env_module(env_import)
        worker = PopulationsWorker(plans)
    except Exception as error:
        connection.send(("error", error_line(error)))
        return
    connection.send(("ready", None))
    try:
        while True:
            try:
                order = connection.recv()
            except EOFError:  # the parent has gone
                return
            if order is None:
                return
            try:
                connection.send(("ok", worker.train_round(order)))
            except Exception as error:
                connection.send(("error", error_line(error)))
                return
    finally:
        worker.close()


class _InProcess:
    """A worker run in the caller's process (one worker: no process to start)."""

    def __init__(self, plans: Sequence[PopulationPlan]) -> None:
        self.worker = PopulationsWorker(plans)
        self._reports: list[Report] = []

    def wait_ready(self) -> None:
        pass

    def send(self, stopping: list[Member]) -> None:
        try:
            self._reports = self.worker.train_round(stopping)
        except Exception as error:  # as a worker process says it: one line
            raise WorkerError(error_line(error)) from error

    def receive(self) -> list[Report]:
        return self._reports

    def close(self) -> None:
        self.worker.close()


class _Process:
    """A worker in a child process (spawned: a fork would copy the parent's threads and window)."""

    def __init__(self, plans: Sequence[PopulationPlan], env_import: str | None) -> None:
        context = multiprocessing.get_context("spawn")
        self.connection, child = context.Pipe()
        arguments = (child, list(plans), env_import)
        self.process = context.Process(target=_serve, args=arguments, daemon=True, name="vpg-worker")
        self.process.start()
        child.close()

    def _answer(self) -> Any:
        try:
            kind, payload = self.connection.recv()
        except EOFError:
            raise WorkerError(f"a worker process ended (exit code {self.process.exitcode})") from None
        if kind == "error":
            raise WorkerError(payload)
        return payload

    def wait_ready(self) -> None:
        self._answer()

    def send(self, stopping: list[Member]) -> None:
        self.connection.send(stopping)

    def receive(self) -> list[Report]:
        return self._answer()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.send(None)
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5)
        self.connection.close()


class ParallelRun:
    """Groups x seeds trained in ``workers`` processes (one: in this process), round by round.

    :param groups: each trained with every seed; names unique.
    :param seeds: the seeds every group trains.
    :param max_steps: per agent, None: each group's ``config.total_steps``.
    :param stop_sets: groups that stop together once all their agents solved (None: all
        groups, as a comparison); every group in exactly one set.
    :param workers: processes to train in (at most one per agent).
    :param env_import: ``--env module:Env-v0`` as given, when the env is a module's own:
        each worker process imports the module (which registers the env) first.
    """

    def __init__(
        self,
        groups: Sequence[Group],
        seeds: Sequence[int],
        max_steps: int | None = None,
        stop_sets: Sequence[Sequence[str]] | None = None,
        workers: int = 1,
        env_import: str | None = None,
    ) -> None:
        self.groups = list(groups)
        self.seeds = list(seeds)
        self.max_steps = {g.name: max_steps or g.config.total_steps for g in self.groups}
        self.stop_sets = [list(names) for names in (stop_sets or [[g.name for g in self.groups]])]
        self.records = {g.name: [AgentRecord() for _ in self.seeds] for g in self.groups}
        self.reward_threshold = reward_threshold(self.groups[0].config.env_id)
        self.rounds = 0
        self._running = {Member(g.name, index) for g in self.groups for index in range(len(self.seeds))}
        self._stopping: dict[int, list[Member]] = {}
        count = max(1, min(workers, len(self._running)))
        plans = place({g.name: g.config for g in self.groups}, self.seeds, count)
        self._worker_of = {m: w for w, populations in enumerate(plans) for p in populations for m in p.members}
        self._workers: list[_InProcess | _Process] = []
        try:
            for populations in plans:
                self._workers.append(_InProcess(populations) if count == 1 else _Process(populations, env_import))
            for worker in self._workers:
                worker.wait_ready()
        except BaseException:
            self.close()
            raise

    # -- training --------------------------------------------------------------------

    def train_round(self) -> None:
        """One update of every running agent, each worker its share at the same time; then
        stop the agents at their step budget, and each stop set whose agents all solved."""
        busy = sorted({self._worker_of[member] for member in self._running})
        for index in busy:
            self._workers[index].send(self._stopping.pop(index, []))
        reports = [report for index in busy for report in self._workers[index].receive()]
        spent = set()
        for member, env_steps, mean_return, solved in reports:
            record = self.records[member.group][member.seed_index]
            record.env_steps.append(env_steps)
            record.returns.append(mean_return)
            if record.steps_to_solve is None and solved:
                record.steps_to_solve = env_steps
            if env_steps >= self.max_steps[member.group]:
                spent.add(member)
        for names in self.stop_sets:
            if all(r.steps_to_solve is not None for name in names for r in self.records[name]):
                spent.update(member for member in self._running if member.group in names)
        for member in spent & self._running:
            self._running.discard(member)
            self._stopping.setdefault(self._worker_of[member], []).append(member)
        self.rounds += 1

    def train_to_the_end(self) -> None:
        while not self.finished:
            self.train_round()

    @property
    def finished(self) -> bool:
        """Every agent has stopped (its budget spent, or its stop set all solved)."""
        return not self._running

    def running_agents(self, name: str) -> int:
        return sum(member.group == name for member in self._running)

    # -- reading ---------------------------------------------------------------------

    def curves(self, name: str) -> list[Curve]:
        """Group ``name``'s curves, in seed order."""
        return [record.curve() for record in self.records[name]]

    def steps_to_solve(self, name: str) -> list[int | None]:
        return [record.steps_to_solve for record in self.records[name]]

    def summary(self, group: Group) -> GroupSummary:
        return summarize_group(
            group.label, group.difference, self.seeds, self.curves(group.name), self.steps_to_solve(group.name)
        )

    def env_steps(self, name: str) -> list[int]:
        """Each agent's env steps so far, in seed order."""
        return [record.env_steps[-1] if record.env_steps else 0 for record in self.records[name]]

    def mean_return_100(self, name: str) -> float:
        """The mean over the group's seeds of their newest mean return (NaN before any)."""
        latest = [record.returns[-1] for record in self.records[name] if record.returns]
        finite = [value for value in latest if math.isfinite(value)]
        return float(np.mean(finite)) if finite else math.nan

    def close(self) -> None:
        for worker in self._workers:
            worker.close()
        self._workers = []
