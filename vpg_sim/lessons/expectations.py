"""What a lesson's step says the run will show, and the judgement of it against the run.

A step's ``expect`` is one of:

- ``solved`` / ``not solved``: judged once the step's actions are done;
- ``mean return >= 200 by update 60``: met as soon as the mean of the last 100 returns
  holds the comparison at any update up to 60; not met once update 60 passed without it
  (``at update 60`` judges the mean at update 60 alone; ``>``, ``>=``, ``<``, ``<=``);
- ``gae quieter than total-return``: the gradient-noise panel's measurement (taken
  during the step), debiased, decided and in that order;
- ``a faster than b``: in a comparison, group a's median steps to solve below b's.

When the run does not meet it, the caption says so instead of stating it.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from vpg_sim.core.advantages import ESTIMATORS

PENDING, MET, NOT_MET = "pending", "met", "not met"
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}


@dataclass(frozen=True)
class NoiseFigure:
    """One estimator's gradient noise as the panel shows it."""

    ratio: float
    """tr Cov / |g|^2, debiased."""
    decided: bool
    """False where there is no resolvable signal to measure (the ratio means nothing)."""


@dataclass(frozen=True)
class RunFacts:
    """What an expectation is judged on, read from the window by the lesson's runner."""

    update: int = 0
    solved: bool = False
    mean_returns: Mapping[int, float] = field(default_factory=dict)
    """The mean of the last 100 returns after each update of the run (as far as it is kept)."""
    noise: Mapping[str, NoiseFigure] | None = None
    """The newest gradient-noise measurement taken during the step, or None."""
    medians: Mapping[str, float | None] = field(default_factory=dict)
    """In a comparison: each group's median steps to solve (None: not yet half solved)."""
    finished: bool = False
    """In a comparison: every agent has stopped."""
    actions_done: bool = False
    """The step's actions (its waits included) are done."""


@dataclass(frozen=True)
class Verdict:
    state: str
    """:data:`PENDING`, :data:`MET` or :data:`NOT_MET`."""
    detail: str = ""
    """The measured figure, in words (for the caption of an expectation not met)."""


class Expectation:
    """A claim about the run; :meth:`judge` it against the :class:`RunFacts` of the moment."""

    text: str

    def judge(self, facts: RunFacts) -> Verdict:
        raise NotImplementedError


@dataclass(frozen=True)
class Solved(Expectation):
    text: str
    wanted: bool

    def judge(self, facts: RunFacts) -> Verdict:
        if not facts.actions_done:
            return Verdict(PENDING)
        if facts.solved == self.wanted:
            return Verdict(MET)
        said = "the run is solved" if facts.solved else f"the run is not solved at update {facts.update}"
        return Verdict(NOT_MET, said)


@dataclass(frozen=True)
class MeanReturn(Expectation):
    text: str
    comparison: str
    threshold: float
    update: int
    by: bool
    """True: at any update up to ``update``; False: at ``update`` itself."""

    def judge(self, facts: RunFacts) -> Verdict:
        holds = COMPARISONS[self.comparison]
        seen = {update: mean for update, mean in facts.mean_returns.items() if update <= self.update}
        if self.by and any(holds(mean, self.threshold) for mean in seen.values()):
            return Verdict(MET)
        if facts.update < self.update:
            return Verdict(PENDING)
        if not self.by:
            if self.update not in facts.mean_returns:
                return Verdict(NOT_MET, f"update {self.update} was not seen")
            mean = facts.mean_returns[self.update]
            return Verdict(MET) if holds(mean, self.threshold) else Verdict(NOT_MET, _mean_said(mean, self.update))
        last = max(seen) if seen else None
        if last is None:
            return Verdict(NOT_MET, f"no update up to {self.update} was seen")
        return Verdict(NOT_MET, _mean_said(seen[last], last))


def _mean_said(mean: float, update: int) -> str:
    return f"the mean return was {mean:.0f} at update {update}"


@dataclass(frozen=True)
class Quieter(Expectation):
    text: str
    quieter: str
    louder: str

    def judge(self, facts: RunFacts) -> Verdict:
        if facts.noise is None:
            return Verdict(PENDING)
        a, b = facts.noise[self.quieter], facts.noise[self.louder]
        if not (a.decided and b.decided):
            return Verdict(NOT_MET, "the noise panel found no resolvable signal to compare (undecided)")
        if a.ratio < b.ratio:
            return Verdict(MET)
        return Verdict(NOT_MET, f"{self.quieter} measured {a.ratio:.3g} against {self.louder}'s {b.ratio:.3g}")


@dataclass(frozen=True)
class Faster(Expectation):
    text: str
    faster: str
    slower: str

    def judge(self, facts: RunFacts) -> Verdict:
        if not facts.finished:  # a median moves while seeds still solve
            return Verdict(PENDING)
        a, b = facts.medians.get(self.faster), facts.medians.get(self.slower)
        if a is not None and (b is None or a < b):
            return Verdict(MET)
        if a is None:
            return Verdict(NOT_MET, f"{self.faster} did not solve in half its seeds")
        return Verdict(NOT_MET, f"median steps to solve: {self.faster} {a:,.0f}, {self.slower} {b:,.0f}")


MEAN_RETURN = re.compile(r"mean return (>=|>|<=|<) (-?\d+(?:\.\d+)?) (by|at) update (\d+)")
QUIETER = re.compile(r"([\w-]+) quieter than ([\w-]+)")
FASTER = re.compile(r"(\w+) faster than (\w+)")


def parse_expectation(text: object) -> Expectation:
    """The expectation ``text`` states; ValueError (one line) if it states none of the known kinds."""
    if not isinstance(text, str):
        raise ValueError(f"expected text such as \"solved\", got {text!r}")
    said = " ".join(text.split()).lower()
    if said in ("solved", "not solved"):
        return Solved(said, said == "solved")
    if match := MEAN_RETURN.fullmatch(said):
        comparison, threshold, when, update = match.groups()
        return MeanReturn(said, comparison, float(threshold), int(update), when == "by")
    if match := QUIETER.fullmatch(said):
        quieter, louder = match.groups()
        for name in (quieter, louder):
            if name not in ESTIMATORS:
                raise ValueError(f"{name!r} is not an estimator (one of {', '.join(ESTIMATORS)})")
        return Quieter(said, quieter, louder)
    if match := FASTER.fullmatch(said):
        return Faster(said, *match.groups())
    raise ValueError(
        f"{text!r} is not an expectation: use \"solved\", \"not solved\", \"mean return >= 200 by update 60\", "
        "\"gae quieter than total-return\" or \"a faster than b\""
    )
