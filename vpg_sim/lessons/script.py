"""A lesson is a TOML file of steps: a caption to show, actions to run in order, and what
the run is expected to show.

    title = "Watch it learn"
    minutes = 4
    summary = "CartPole from falling to balancing, and what each panel says meanwhile."

    [[step]]
    caption = "The agent has never seen a pole. Its policy is a coin toss."
    do = [{ train = { env = "CartPole-v1", seed = 0 } }, { pace = "1/s" }, { wait = { update = 5 } }]

    [[step]]
    caption = "Forty updates later the pole stays up for the whole episode."
    do = [{ wait = "solved" }]
    expect = "mean return >= 475 by update 120"

Each action is a table with one key (see :data:`ACTIONS`). :func:`parse_lesson` checks
everything (every config value by the config's own rules) before a lesson runs; a
mistake is one :class:`LessonError` line naming the step and the field.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from typing import Any

from vpg_sim.core.config import LIVE_KNOBS, VPGConfig, config_for, with_live_changes
from vpg_sim.core.nudge import MAX_IMPULSE
from vpg_sim.lessons.expectations import Expectation, parse_expectation

PANELS = ("map", "update", "noise", "formulas", "knobs")
PACES = ("full", "1/s", "2/s", "5/s", "lockstep")
WAIT_KEYS = ("update", "solved", "episode", "seconds", "at_most")
DEFAULT_WAIT_LIMIT = 240.0
"""A wait for an update, a solve or an episode gives up after this many seconds (unless
the step says ``at_most``): a lesson never hangs on a run that does not get there."""
MAX_STEPS = 60
MAX_CAPTION = 400


class LessonError(ValueError):
    """A lesson file that cannot run: one line naming the step and the field."""


@dataclass(frozen=True)
class Wait:
    """Until the run reaches ``update``, is solved, a stage episode ends, or ``seconds``
    pass; at most ``at_most`` seconds either way."""

    update: int | None = None
    solved: bool = False
    episode: bool = False
    seconds: float | None = None
    at_most: float = DEFAULT_WAIT_LIMIT


@dataclass(frozen=True)
class Compare:
    """Two configs over ``seeds`` seeds, in the comparison window, until ``budget`` env steps."""

    a: VPGConfig
    b: VPGConfig
    a_label: str
    b_label: str
    seeds: int
    budget: int


@dataclass(frozen=True)
class Action:
    """One thing a step does: ``kind`` is a key of :data:`ACTIONS`, ``value`` its checked value."""

    kind: str
    value: Any


@dataclass(frozen=True)
class Step:
    caption: str
    actions: tuple[Action, ...] = ()
    expect: Expectation | None = None
    otherwise: str = ""
    """What the caption says instead when the expectation is not met (after the measured figure)."""
    hold: float = 0.0
    """Seconds the caption stays once the actions are done, when the lesson plays itself."""


@dataclass(frozen=True)
class Lesson:
    name: str
    title: str
    minutes: float
    """How long it runs at its own pace (the file says; the recording benchmark measures)."""
    summary: str
    steps: tuple[Step, ...] = field(default_factory=tuple)


def reading_seconds(caption: str) -> float:
    """How long a caption stays when a lesson plays itself: 2.5 words a second, at least 5 s."""
    return max(5.0, len(caption.split()) / 2.5)


def _config(where: str, table: Any) -> VPGConfig:
    """A config from a table of ``env``, ``seed``, ``preset`` and any config field."""
    if not isinstance(table, dict):
        raise LessonError(f"{where}: expected a table such as {{ env = \"CartPole-v1\", seed = 0 }}")
    settings = dict(table)
    env = settings.pop("env", "CartPole-v1")
    preset = settings.pop("preset", None)
    unknown = sorted(set(settings) - set(VPGConfig.__dataclass_fields__) - {"env_id"})
    if unknown:
        raise LessonError(f"{where}: {unknown[0]!r} is not a config field")
    try:
        return config_for(env, preset, **settings)
    except (ValueError, TypeError) as error:
        said = str(error).splitlines()[0].removeprefix("invalid config: ")
    for name, value in settings.items():  # name the field the config's rules refuse, if one alone does
        try:
            config_for(env, preset, **{name: value})
        except (ValueError, TypeError):
            raise LessonError(f"{where}.{name}: {said}") from None
    raise LessonError(f"{where}: {said}")


def _wait(where: str, value: Any) -> Wait:
    if value in ("solved", "episode"):
        return Wait(**{value: True})
    if not isinstance(value, dict) or not value:
        raise LessonError(f'{where}: expected "solved", "episode" or a table with {", ".join(WAIT_KEYS)}')
    unknown = sorted(set(value) - set(WAIT_KEYS))
    if unknown:
        raise LessonError(f"{where}: unknown key {unknown[0]!r} (expected {', '.join(WAIT_KEYS)})")
    if len(set(value) - {"at_most"}) != 1:
        raise LessonError(f"{where}: wait for one thing: update, solved, episode or seconds")
    for key in ("seconds", "at_most"):
        if key in value and not (
            isinstance(value[key], int | float) and not isinstance(value[key], bool) and 0 < value[key] <= 3600
        ):
            raise LessonError(f"{where}.{key}: expected seconds in (0, 3600], got {value[key]!r}")
    if "update" in value and not (isinstance(value["update"], int) and not isinstance(value["update"], bool)):
        raise LessonError(f"{where}.update: expected a whole number, got {value['update']!r}")
    if "update" in value and not 0 <= value["update"] <= 100_000:
        raise LessonError(f"{where}.update: expected 0 to 100000, got {value['update']}")
    for key in ("solved", "episode"):
        if key in value and value[key] is not True:
            raise LessonError(f"{where}.{key}: expected true")
    return Wait(
        update=value.get("update"),
        solved=value.get("solved", False),
        episode=value.get("episode", False),
        seconds=float(value["seconds"]) if "seconds" in value else None,
        at_most=float(value.get("at_most", DEFAULT_WAIT_LIMIT)),
    )


def _compare(where: str, value: Any) -> Compare:
    if not isinstance(value, dict):
        raise LessonError(f"{where}: expected a table with a, b, seeds and budget")
    unknown = sorted(set(value) - {"a", "b", "seeds", "budget", "env", "a_label", "b_label"})
    if unknown:
        raise LessonError(f"{where}: unknown key {unknown[0]!r}")
    seeds, budget = value.get("seeds", 8), value.get("budget", 150_000)
    if not isinstance(seeds, int) or isinstance(seeds, bool) or not 2 <= seeds <= 64:
        raise LessonError(f"{where}.seeds: expected 2 to 64 seeds, got {seeds!r}")
    if not isinstance(budget, int) or isinstance(budget, bool) or not 1_000 <= budget <= 2_000_000:
        raise LessonError(f"{where}.budget: expected 1000 to 2000000 env steps, got {budget!r}")
    env = value.get("env", "CartPole-v1")
    tables = {}
    for group in ("a", "b"):
        if group not in value:
            raise LessonError(f"{where}: missing {group} (a table of config fields)")
        tables[group] = _config(f"{where}.{group}", {"env": env, **value[group]})
    labels = [value.get(f"{g}_label", "") or _describe(value[g]) for g in ("a", "b")]
    return Compare(tables["a"], tables["b"], labels[0], labels[1], seeds, budget)


def _describe(table: dict) -> str:
    return ", ".join(f"{key}={value}" for key, value in table.items()) or "defaults"


def _check_action(where: str, kind: str, value: Any) -> Any:
    """``value`` checked for an action of ``kind``; LessonError naming ``where`` if wrong."""
    if kind == "train":
        return _config(where, value)
    if kind == "play":
        if value != "shipped" and not isinstance(value, str):
            raise LessonError(f'{where}: expected "shipped" or a policy file\'s path')
        return value
    if kind == "pace":
        if value not in PACES:
            raise LessonError(f"{where}: expected one of {', '.join(PACES)}, got {value!r}")
        return value
    if kind in ("pause", "resume", "greedy", "present"):
        if not isinstance(value, bool):
            raise LessonError(f"{where}: expected true or false, got {value!r}")
        return value
    if kind == "wait":
        return _wait(where, value)
    if kind in ("open", "close"):
        if value not in PANELS:
            raise LessonError(f"{where}: expected one of {', '.join(PANELS)}, got {value!r}")
        return value
    if kind == "push":
        if value in ("left", "right"):
            return -1.0 if value == "left" else 1.0
        if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
            raise LessonError(f'{where}: expected "left", "right" or an impulse in N·s, got {value!r}')
        if not 0 < abs(value) <= MAX_IMPULSE:
            raise LessonError(f"{where}: an impulse of 0 < |N·s| <= {MAX_IMPULSE:g}, got {value}")
        return float(value)
    if kind == "timeline":
        if value != "live" and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise LessonError(f'{where}: expected an update (0 or more) or "live", got {value!r}')
        return value
    if kind == "knob":
        if not isinstance(value, dict) or not value:
            raise LessonError(f"{where}: expected a table of live knobs, such as {{ gamma = 0.95 }}")
        fixed = sorted(set(value) - set(LIVE_KNOBS))
        if fixed:
            raise LessonError(f"{where}: {fixed[0]!r} is not a live knob (one of {', '.join(LIVE_KNOBS)})")
        try:
            with_live_changes(config_for("CartPole-v1"), value)
        except ValueError as error:
            raise LessonError(f"{where}: {str(error).splitlines()[0]}") from None
        return dict(value)
    if kind == "speed":
        speeds = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
        if value not in speeds:
            raise LessonError(f"{where}: expected one of {', '.join(f'{s:g}' for s in speeds)}, got {value!r}")
        return float(value)
    if kind == "compare":
        return _compare(where, value)
    if kind == "key":
        if not isinstance(value, str) or not value.replace("_", "").isalpha():
            raise LessonError(f'{where}: expected a command\'s name, such as "map" (the key M), got {value!r}')
        return value
    raise AssertionError(kind)


ACTIONS = (
    "train",
    "play",
    "pace",
    "pause",
    "resume",
    "wait",
    "open",
    "close",
    "push",
    "timeline",
    "knob",
    "speed",
    "greedy",
    "present",
    "compare",
    "key",
)
"""What a step may do: train a config from scratch (``train``: env, seed, preset, any
config field), play a policy file (``play = "shipped"``), set the pace, pause or resume,
wait, open or close a panel, push the cart, move the timeline to an update (or
``"live"``), turn live knobs, set the stage's speed, greedy actions, presenter mode,
start a comparison of two configs over seeds, or press a key (``key = "map"``: the
command a key of the window runs, by its name)."""

STEP_KEYS = ("caption", "do", "expect", "otherwise", "hold")


def _step(number: int, table: Any) -> Step:
    where = f"step {number}"
    if not isinstance(table, dict):
        raise LessonError(f"{where}: expected a table ([[step]])")
    unknown = sorted(set(table) - set(STEP_KEYS))
    if unknown:
        raise LessonError(f"{where}: unknown key {unknown[0]!r} (expected {', '.join(STEP_KEYS)})")
    caption = table.get("caption")
    if not isinstance(caption, str) or not caption.strip():
        raise LessonError(f"{where}.caption: expected one or two sentences")
    if len(caption) > MAX_CAPTION:
        raise LessonError(f"{where}.caption: {len(caption)} characters; at most {MAX_CAPTION} fit the screen")
    actions = []
    do = table.get("do", [])
    if not isinstance(do, list):
        raise LessonError(f"{where}.do: expected a list of actions, such as [{{ pace = \"1/s\" }}]")
    for index, entry in enumerate(do, start=1):
        if not isinstance(entry, dict) or len(entry) != 1:
            raise LessonError(f"{where}.do[{index}]: expected one action per table, such as {{ open = \"map\" }}")
        [(kind, value)] = entry.items()
        if kind not in ACTIONS:
            raise LessonError(f"{where}.do[{index}]: unknown action {kind!r} (one of {', '.join(ACTIONS)})")
        actions.append(Action(kind, _check_action(f"{where}.do[{index}].{kind}", kind, value)))
    expect = None
    if "expect" in table:
        try:
            expect = parse_expectation(table["expect"])
        except ValueError as error:
            raise LessonError(f"{where}.expect: {error}") from None
    otherwise = table.get("otherwise", "")
    if not isinstance(otherwise, str):
        raise LessonError(f"{where}.otherwise: expected text")
    hold = table.get("hold", reading_seconds(caption))
    if not isinstance(hold, int | float) or isinstance(hold, bool) or not 0 <= hold <= 600:
        raise LessonError(f"{where}.hold: expected seconds from 0 to 600, got {hold!r}")
    return Step(caption.strip(), tuple(actions), expect, otherwise.strip(), float(hold))


def parse_lesson(text: str, name: str) -> Lesson:
    """The lesson in TOML ``text`` (``name`` says where it came from), every field checked."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise LessonError(f"not TOML: {error}") from None
    unknown = sorted(set(data) - {"title", "minutes", "summary", "step"})
    if unknown:
        raise LessonError(f"unknown key {unknown[0]!r} (expected title, minutes, summary and [[step]] tables)")
    title, minutes, summary = data.get("title"), data.get("minutes"), data.get("summary", "")
    if not isinstance(title, str) or not title.strip():
        raise LessonError("title: expected the lesson's title")
    if not isinstance(minutes, int | float) or isinstance(minutes, bool) or not 0 < minutes <= 120:
        raise LessonError(f"minutes: expected its length in minutes (up to 120), got {minutes!r}")
    if not isinstance(summary, str):
        raise LessonError("summary: expected text")
    steps = data.get("step")
    if not isinstance(steps, list) or not steps:
        raise LessonError("no steps: add [[step]] tables, each with a caption")
    if len(steps) > MAX_STEPS:
        raise LessonError(f"{len(steps)} steps; at most {MAX_STEPS}")
    parsed = tuple(_step(number, step) for number, step in enumerate(steps, start=1))
    return Lesson(name, title.strip(), float(minutes), summary.strip(), parsed)
