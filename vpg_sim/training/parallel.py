"""Groups of seeds trained in worker processes: a sweep's (and a headless comparison's) engine.

A run is groups (each one config trained with every seed, as ``ComparisonRun`` trains
its groups) and stop sets: groups that stop together once every agent in them has
solved (a comparison's two groups; a sweep's cell on its own). A round is one update
of every running agent; an agent stops at its step budget, and a stop set after the
round in which its last agent solved, exactly as ``ComparisonRun.train_round`` stops them.

The agents live in ``workers`` processes, each holding a few ``PopulationTrainer``s and
training round after round on its own (see :class:`ParallelRun`: a worker does not wait
for the others, so another job taking a core for a while slows one worker, not both).

Where each agent trains is ``populations_worker.py``'s :func:`place`: the numbers do not
depend on ``workers``, nor on whether a group trains here or alone.

A group with a student's functions (``--advantages`` ...) trains as ``ComparisonRun``
trains it, as lone trainers (``student_population.py``), in this process: the student's
module was imported here, from the command line.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
from multiprocessing.connection import wait
from typing import Any

from vpg_sim.core.envs import reward_threshold
from vpg_sim.core.student import StudentCodeError
from vpg_sim.training.comparison_run import AgentRecord, Group, RecordedRun
from vpg_sim.training.populations_worker import (
    LEAD,
    Member,
    PopulationPlan,
    PopulationsWorker,
    Report,
    error_line,
    place,
)
from vpg_sim.training.worker_process import StartedWorkers, WorkerError, WorkerProcess


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
    :param started: worker processes started before (``worker_process.py``), taken for the
        children before any is spawned.
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
        started: StartedWorkers | None = None,
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
            # Worker 0 is this process, the others children: started now unless ``started``
            # before, they import (~2 s) while this one trains its share.
            for index, populations in enumerate(plans):
                if index == 0:
                    self._workers.append(self._local_worker(populations))
                else:
                    share = (list(populations), dict(self.max_steps), env_import)
                    self._workers.append(WorkerProcess(share, started.take() if started is not None else None))
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
