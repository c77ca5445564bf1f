"""``vpg-sim exercise new reward-to-go|gae|loss [--out FILE]``: a starter file for one of
the functions a student may plug in (``vpg_sim/core/student.py``): the signature, a
docstring that sets the task with a tiny worked example, and ``raise NotImplementedError``.
The examples' numbers are the check's own cases (``core/student_check.py``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from vpg_sim.core.student import EXERCISES, SLOTS

HEADER = '''"""Exercise: {title}.

Write {function} below, then, in this folder:

    vpg-sim check {module}:{function}            # case by case, against vpg-sim's own
    vpg-sim {flag} {module}:{function}       # watch it learn beside vpg-sim's own
    vpg-sim train {flag} {module}:{function}
    vpg-sim compare --a {slot}={module}:{function} --b {compare_b} --seeds 16
"""

'''

REWARD_TO_GO = '''import numpy as np


def {function}(rewards, next_values, terminated, truncated, gamma):
    """The discounted reward-to-go G_t of every step: the weight of grad log pi(a_t|s_t).

        G_t = r_t + gamma * r_{{t+1}} + gamma^2 * r_{{t+2}} + ...   to the end of t's episode

    discounted from t itself: r_t counts fully. You get ONE environment's steps in time
    order, its episodes back to back: the step after an episode's end begins the next.

    Arguments (T steps):
        rewards      (T,) float  r_t, the reward of step t
        next_values  (T,) float  V(s_{{t+1}}): the critic's estimate of the return from the
                                 state that step t led to
        terminated   (T,) bool   step t ended its episode in a terminal state (the pole
                                 fell): nothing follows, so nothing is added after r_t
        truncated    (T,) bool   step t ended its episode at the time limit: the state had a
                                 future that nobody watched; estimate it as next_values[t]
        gamma        float       the discount, 0 <= gamma <= 1
    The last step, if neither flag is set, is where the batch was cut: its episode goes on
    in the next batch, and its future is estimated the same way, as next_values[T - 1].

    Returns an array of shape (T,): G_t for every t.

    A tiny example, gamma = 0.5: an episode that ends in a terminal state at step 2, then
    one the batch cuts after step 4, where next_values[4] = 8:
        rewards     = [1, 2, 4, 1, 1]
        terminated  = [F, F, T, F, F]
        next_values = [2, 1, 7, 1, 8]     (next_values[2] = 7: terminal, ignore it)
        G_4 = 1 + 0.5 * 8   = 5
        G_3 = 1 + 0.5 * G_4 = 3.5
        G_2 = 4                           (its episode ended here)
        G_1 = 2 + 0.5 * G_2 = 4
        G_0 = 1 + 0.5 * G_1 = 3
        return [3, 4, 4, 3.5, 5]

    Hint: walk backwards from the last step with a running sum.
    """
    raise NotImplementedError
'''

GAE = '''import numpy as np


def {function}(rewards, values, next_values, terminated, truncated, gamma, lam):
    """GAE(gamma, lambda) advantages A_t of every step: how much better than the critic
    expected step t turned out, looking ahead with weights (gamma * lam)^k.

        delta_t = r_t + gamma * V(s_{{t+1}}) - V(s_t)     (V(s_{{t+1}}) counts as 0 if step t
                                                       ended in a terminal state)
        A_t     = delta_t + gamma * lam * A_{{t+1}}        (A_{{t+1}} counts as 0 if step t
                                                       ended its episode, either way)

    You get ONE environment's steps in time order, its episodes back to back: the step
    after an episode's end begins the next.

    Arguments (T steps):
        rewards      (T,) float  r_t
        values       (T,) float  V(s_t): the critic's estimate for the state step t acted in
        next_values  (T,) float  V(s_{{t+1}}): for the state step t led to
        terminated   (T,) bool   step t ended its episode in a terminal state: no future at all
        truncated    (T,) bool   step t ended its episode at the time limit: the state had a
                                 future, worth next_values[t]; but the episode still ends there
        gamma, lam   float       0 <= gamma <= 1, 0 <= lam <= 1
    The last step, if neither flag is set, is where the batch was cut: the episode goes on,
    and next_values[T - 1] is what follows.

    Returns an array of shape (T,): A_t for every t.

    A tiny example, gamma = 0.5, lam = 0.5: one episode of two steps, ending in a terminal
    state, values = [1, 2], next_values = [2, 10]:
        delta_1 = 1 + 0 - 2         = -1     (terminal: next_values[1] = 10 is ignored)
        delta_0 = 1 + 0.5 * 2 - 1   = 1
        A_1 = delta_1               = -1
        A_0 = 1 + 0.5 * 0.5 * A_1   = 0.75
        return [0.75, -1]

    With lam = 1, A_t + V(s_t) is the reward-to-go; with lam = 0, A_t is delta_t.
    """
    raise NotImplementedError
'''

LOSS = '''import torch


def {function}(log_probs, advantages):
    """The policy-gradient loss: one number whose gradient, taken by the optimiser, is
    minus the policy gradient estimate, so that descending it makes good actions likelier.

        loss = - mean over the batch of  log pi(a_t|s_t) * A_t

    Arguments (B samples):
        log_probs   (B,) torch tensor: log pi(a_t|s_t) of the actions taken; it carries
                    the gradient back to the policy's weights
        advantages  (B,) torch tensor: the weights A_t (normalised by vpg-sim to mean 0,
                    std 1 unless the run turns that off); constants, not differentiated

    Returns a torch tensor holding one number, computed with torch operations on
    log_probs: no .item(), no numpy, or the optimiser gets no gradient.

    A tiny example: log_probs = log([0.5, 0.25]) = [-0.693, -1.386], advantages = [1, -2]:
        loss = -((-0.693 * 1) + (-1.386 * -2)) / 2 = -1.040
    """
    raise NotImplementedError
'''

STARTERS = {
    "reward-to-go": ("reward_to_go", "reward-to-go, the weights Phi_t of the policy gradient", REWARD_TO_GO),
    "gae": ("gae", "generalised advantage estimation, GAE(gamma, lambda)", GAE),
    "loss": ("pg_loss", "the policy-gradient loss", LOSS),
}
"""Exercise -> (function name and default file, title, body)."""
COMPARE_B = {"reward-to-go": "estimator=reward-to-go", "gae": "estimator=gae", "loss": "estimator=gae"}
"""What a student's function is compared with over seeds: vpg-sim's own in its place."""


def add_exercise_command(commands: Any) -> None:
    exercise = commands.add_parser("exercise", help="write a starter file for your own reward-to-go, GAE or loss")
    actions = exercise.add_subparsers(dest="exercise_action", metavar="ACTION", required=True)
    new = actions.add_parser("new", help="write a starter file", description="Write a starter file for an exercise.")
    new.add_argument("name", choices=tuple(EXERCISES), help="the exercise")
    new.add_argument("--out", type=Path, metavar="FILE", help="where (default: NAME.py in this folder, never replaced)")


def starter_text(exercise: str, module: str) -> str:
    """The starter file of ``exercise`` whose module (file stem) is ``module``."""
    function, title, body = STARTERS[exercise]
    slot = SLOTS[EXERCISES[exercise]]
    header = HEADER.format(
        title=title,
        function=function,
        module=module,
        flag=slot.flag,
        slot=slot.name,
        compare_b=COMPARE_B[exercise],
    )
    return header + body.format(function=function)


def exercise_command(args: argparse.Namespace) -> int:
    from vpg_sim.cli.arguments import fail
    from vpg_sim.files import write_atomically

    out: Path = args.out or Path(f"{STARTERS[args.name][0]}.py")
    if out.suffix != ".py" or not out.stem.isidentifier():
        return fail(f"exercise: {out} is not a module Python can import: give a name such as mycode.py")
    if out.exists():
        return fail(f"exercise: {out} exists (never replaced): give another with --out FILE")
    try:
        write_atomically(out, starter_text(args.name, out.stem).encode())
    except OSError as error:
        return fail(f"exercise: cannot write {out}: {error.strerror or error}")
    function = STARTERS[args.name][0]
    print(f"wrote {out}: write {function} in it, then: vpg-sim check {out.stem}:{function}")
    return 0
