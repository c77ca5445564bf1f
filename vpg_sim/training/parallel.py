"""Groups of seeds trained in worker processes: a sweep's (and a headless comparison's) engine.

A run is groups (each one config trained with every seed, as ``ComparisonRun`` trains
its groups) and stop sets: groups that stop together once every agent in them has
solved (a comparison's two groups; a sweep's cell on its own). A round is one update
of every running agent; an agent stops at its step budget, and a stop set after the
round in which its last agent solved, exactly as ``ComparisonRun.train_round`` stops them.

The agents live in ``workers`` processes, each holding a few ``PopulationTrainer``s and
training round after round on its own (see :class:`ParallelRun`: a worker does not wait
for the others, so another job taking a core for a while slows one worker, not both).

**Placement** (:func:`place`) rests on one property of the population (tested in
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

A group with a student's functions (``--advantages`` ...) trains as ``ComparisonRun``
trains it, as lone trainers (``student_population.py``), in this process: the student's
module was imported here, from the command line.
"""

from __future__ import annotations

import collections
import contextlib
import importlib
import math
import multiprocessing
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from vpg_sim.core.advantages import CRITIC_FREE
from vpg_sim.core.config import VPGConfig
from vpg_sim.core.envs import reward_threshold
from vpg_sim.core.population.trainer import PER_AGENT_FIELDS, PopulationTrainer
from vpg_sim.core.student import StudentCode, StudentCodeError
from vpg_sim.training.comparison_run import AgentRecord, Group, RecordedRun
from vpg_sim.training.student_population import TrainerPopulation


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


def _serve(
    connection: Connection, plans: Sequence[PopulationPlan], max_steps: Mapping[str, int], env_import: str | None
) -> None:
    """A worker process: build the populations, then train round after round, sending each
    round's reports, as far as the parent permits; take stops and permits as they come."""
    import torch

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it closes us
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


class _Process:
    """A worker in a child process (spawned: a fork would copy the parent's threads and window)."""

    def __init__(self, plans: Sequence[PopulationPlan], max_steps: Mapping[str, int], env_import: str | None) -> None:
        context = multiprocessing.get_context("spawn")
        self.connection, child = context.Pipe()
        arguments = (child, list(plans), dict(max_steps), env_import)
        self.process = context.Process(target=_serve, args=arguments, daemon=True, name="vpg-worker")
        self.process.start()
        child.close()

    def receive(self) -> tuple[int, list[Report]]:
        """The next round's number and reports (blocks); WorkerError if the worker failed."""
        try:
            kind, payload = self.connection.recv()
        except EOFError:
            raise WorkerError(f"a worker process ended (exit code {self.process.exitcode})") from None
        if kind == "error":
            raise WorkerError(payload)
        return payload

    def send(self, kind: str, payload: Any) -> None:
        # A worker that has just ended cannot be told anything: its end (an error it sent,
        # or its exit) is read, as one line, at the next receive.
        with contextlib.suppress(OSError):
            self.connection.send((kind, payload))

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.send(None)
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5)
        self.connection.close()


class ParallelRun(RecordedRun):
    """Groups x seeds trained in ``workers`` processes: this one and ``workers - 1`` children.

    Each worker trains its agents round after round, at most :data:`LEAD` rounds ahead of
    the slowest; the parent reads the rounds' reports as they come. An agent stops at its
    step budget (in its worker); a stop set stops after the round in which its last agent
    solved, R: the parent then tells the workers, and drops the rounds after R of an agent
    whose worker had gone on. So every agent's record is what ``ComparisonRun`` records,
    round for round, however far ahead a worker ran.

    :param groups: each trained with every seed; names unique.
    :param seeds: the seeds every group trains.
    :param max_steps: per agent, None: each group's ``config.total_steps``.
    :param stop_sets: groups that stop together once all their agents solved (None: all
        groups, as a comparison); every group in exactly one set.
    :param workers: processes to train in, this one included (at most one per agent).
    :param stop_when_all_solved: False trains every agent to its budget (no stop set ends).
    :param env_import: the module that registers the env, when the env is a module's own
        (``--env module:Env-v0``): each worker process imports it first.
    """

    def __init__(
        self,
        groups: Sequence[Group],
        seeds: Sequence[int],
        max_steps: int | None = None,
        stop_sets: Sequence[Sequence[str]] | None = None,
        workers: int = 1,
        env_import: str | None = None,
        stop_when_all_solved: bool = True,
    ) -> None:
        self.groups = list(groups)
        self.seeds = list(seeds)
        self.max_steps = {g.name: max_steps or g.config.total_steps for g in self.groups}
        self.records = {g.name: [AgentRecord() for _ in self.seeds] for g in self.groups}
        self.reward_threshold = reward_threshold(self.groups[0].config.env_id)
        self.stop_when_all_solved = stop_when_all_solved
        sets = [list(names) for names in (stop_sets or [[g.name for g in self.groups]])]
        self._set_of = {name: index for index, names in enumerate(sets) for name in names}
        self._set_members = [[Member(name, i) for name in names for i in range(len(self.seeds))] for names in sets]
        self._unsolved = [set(members) for members in self._set_members]
        """Per stop set, its agents that have not solved; emptied: the set stops."""
        self._solved_in: dict[Member, int] = {}
        self._last_round: dict[Member, int] = {}
        """An agent's last round, once known: its budget's, or its stop set's end."""
        count = max(1, min(workers, sum(map(len, self._unsolved))))
        students = {g.name: g.student for g in self.groups if g.student is not None}
        plans = place({g.name: g.config for g in self.groups}, self.seeds, count, students)
        self._worker_of = {m: w for w, populations in enumerate(plans) for p in populations for m in p.members}
        self._running = [{m for p in populations for m in p.members} for populations in plans]
        """Per worker, its agents whose records are not complete yet."""
        self._worker_rounds = [0] * count
        self._permitted = [LEAD] * count
        self._workers: list[Any] = []
        try:
            # Worker 0 is this process, the others children: they start (~2 s of imports)
            # while this one trains its share (the first round of the compare lesson came
            # 2.45 s after the start with 2 children, 0.38 s here).
            for index, populations in enumerate(plans):
                if index == 0:
                    self._workers.append(self._local_worker(populations))
                else:
                    self._workers.append(_Process(populations, self.max_steps, env_import))
        except BaseException:
            self.close()
            raise

    def _local_worker(self, plans: Sequence[PopulationPlan]) -> PopulationsWorker:
        """Worker 0, in this process; a failure to build it is one line, as a child's is."""
        try:
            return PopulationsWorker(plans, self.max_steps)
        except StudentCodeError:
            raise
        except Exception as error:  # an env that fails to build or reset: not the input's checks
            raise WorkerError(error_line(error)) from error

    # -- training --------------------------------------------------------------------

    def train_round(self) -> None:
        """Read reports until every running agent has one more round recorded (or all stopped)."""
        target = self.rounds + 1
        while not self.finished and self.rounds < target:
            self._read()

    def train_to_the_end(self) -> None:
        while not self.finished:
            self._read()

    def _read(self) -> None:
        """Train a round here if this process's worker may, then handle the rounds the
        worker processes have sent (waiting for one if nothing was trained here)."""
        trained_here = bool(self._running[0]) and self._worker_rounds[0] < self._permitted[0]
        if trained_here:
            try:
                round_number, reports = self._workers[0].train_round()
            except StudentCodeError:
                raise  # the student's, already one line: said as a comparison says it
            except Exception as error:  # as a worker process says it: one line
                raise WorkerError(error_line(error)) from error
            self._handle(0, round_number, reports)
        children = {self._workers[w].connection: w for w, running in enumerate(self._running) if running and w > 0}
        if children:
            for connection in wait(list(children), timeout=0 if trained_here else None):
                index = children[connection]
                self._handle(index, *self._workers[index].receive())
        live = [w for w, running in enumerate(self._running) if running]
        slowest = min((self._worker_rounds[w] for w in live), default=0)
        for index in live:
            if self._permitted[index] < slowest + LEAD:
                self._permitted[index] = slowest + LEAD
                if index > 0:
                    self._workers[index].send("permit", self._permitted[index])

    def _handle(self, worker: int, round_number: int, reports: list[Report]) -> None:
        """Record worker ``worker``'s round ``round_number``; end each stop set it completes."""
        self._worker_rounds[worker] = round_number
        ended = []
        for member, env_steps, mean_return, returns, end_steps in reports:
            if round_number > self._last_round.get(member, round_number):
                continue  # trained on past its stop set's end before the worker heard of it
            record = self.records[member.group][member.seed_index]
            record.env_steps.append(env_steps)
            record.returns.append(mean_return)
            unsolved_before = record.steps_to_solve is None
            record.add_episodes(returns, end_steps, self.reward_threshold)
            if unsolved_before and record.steps_to_solve is not None and self.stop_when_all_solved:
                self._solved_in[member] = round_number
                unsolved = self._unsolved[self._set_of[member.group]]
                unsolved.discard(member)
                if not unsolved:
                    ended.append(self._set_of[member.group])
            if env_steps >= self.max_steps[member.group]:
                self._last_round[member] = min(self._last_round.get(member, round_number), round_number)
            if self._last_round.get(member) == round_number:
                self._running[worker].discard(member)
        for index in ended:
            self._end_stop_set(index)

    def _end_stop_set(self, index: int) -> None:
        """Every agent of stop set ``index`` stops after the round its last agent solved
        in; rounds recorded past it are dropped."""
        members = self._set_members[index]
        last = max(self._solved_in[m] for m in members)
        stops: dict[int, dict[Member, int]] = {}
        for member in members:
            self._last_round[member] = min(self._last_round.get(member, last), last)
            record = self.records[member.group][member.seed_index]
            del record.env_steps[last:], record.returns[last:]
            worker = self._worker_of[member]
            if len(record.env_steps) >= self._last_round[member]:
                self._running[worker].discard(member)
            stops.setdefault(worker, {})[member] = last
        for worker, due in stops.items():
            if worker == 0:
                self._workers[0].stop(due)
            else:
                self._workers[worker].send("stop", due)

    @property
    def finished(self) -> bool:
        """Every agent has stopped (its budget spent, or its stop set all solved)."""
        return not any(self._running)

    @property
    def rounds(self) -> int:
        """Rounds every running agent has recorded (once finished: the most any agent did)."""
        live = [self._worker_rounds[w] for w, running in enumerate(self._running) if running]
        if live:
            return min(live)
        return max((len(r.env_steps) for records in self.records.values() for r in records), default=0)

    def running_agents(self) -> collections.Counter[str]:
        """Per group, its agents still training."""
        return collections.Counter(member.group for running in self._running for member in running)

    # -- reading ---------------------------------------------------------------------

    def env_steps(self, name: str) -> list[int]:
        """Each agent's env steps so far, in seed order."""
        return [record.env_steps[-1] if record.env_steps else 0 for record in self.records[name]]

    def close(self) -> None:
        for worker in self._workers:
            worker.close()
        self._workers = []
