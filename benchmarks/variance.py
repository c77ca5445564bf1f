"""Is the textbook right that total-return >= reward-to-go >= baseline in variance? And gae?

    python benchmarks/variance.py --seeds 10
    python benchmarks/variance.py --seeds 10 --batches 64 --jsonl variance-k64.jsonl

For each seed, trains the default config from scratch (as ``vpg-sim variance`` does) and
at each of ``--at-steps`` measures the four estimators' relative variance on the same K
batches (``vpg_sim/core/gradient_noise.py``), debiased (tr Cov / (|g_bar|^2 - tr Cov / K)),
on raw Phi (the textbook's claim) and on Phi normalised per batch (what the default config
trains on). Prints a row per (seed, point), then, for each kind of weights: how often the
ordering total-return >= reward-to-go >= baseline holds, link by link, the points where it
does not, and where gae sits.

A figure is *undecided* when its K batches resolve no signal (|g_bar|^2 < 2 tr Cov / K:
``gradient_noise.signal_resolved``, the rule the noise panel marks by), as where a policy
plays every episode to the time limit and the true gradient is ~0. A link a >= b is
undecided when both figures are: their order is the order of two noise draws. Where one is
decided and the other not, the undecided one is the noisier. The verdict is given over all
points and over the decided ones. (Debiasing cannot reorder two figures measured on the
same batches: the debiased ratio x / (1 - x / K) grows with the plain one x. It undoes
the squeeze toward K, so the gaps between estimators read at their size.)
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from vpg_sim.cli.variance import DEFAULT_BATCHES, NoisePoint, noise_along_run, step_list
from vpg_sim.core.advantages import ESTIMATORS
from vpg_sim.core.config import VPGConfig, config_for
from vpg_sim.core.gradient_noise import EstimatorNoise
from vpg_sim.core.trainer import VPGTrainer

LINKS = (("total-return", "reward-to-go"), ("reward-to-go", "baseline"))
"""The textbook's chain, link by link: the first of each pair should be the noisier."""
SHORT = {"total-return": "total", "reward-to-go": "to-go", "baseline": "base", "gae": "gae"}
KINDS = ("raw", "normalised")


def weights(point: NoisePoint, kind: str) -> dict[str, EstimatorNoise]:
    return point.noise.estimators if kind == "raw" else point.noise.normalised


def link(figures: dict[str, EstimatorNoise], noisier: str, quieter: str) -> str:
    """``holds``, ``fails`` or ``undecided`` (neither figure resolved) for ``noisier >= quieter``."""
    a, b = figures[noisier], figures[quieter]
    if not a.resolved and not b.resolved:
        return "undecided"
    if a.resolved != b.resolved:  # the unresolved one is the noisier
        return "holds" if b.resolved else "fails"
    return "holds" if a.debiased >= b.debiased else "fails"


def chain(links: list[str]) -> str:
    return "fails" if "fails" in links else "undecided" if "undecided" in links else "holds"


def gae_rank(figures: dict[str, EstimatorNoise]) -> int:
    """1 if gae has the lowest debiased relative variance of the four, 4 if the highest
    (an undecided figure counts as infinite)."""
    values = {name: f.debiased if f.resolved else math.inf for name, f in figures.items()}
    return sorted(values.values()).index(values["gae"]) + 1


def cell(figures: EstimatorNoise) -> str:
    return f"{figures.debiased:>8.3g}" + (" " if figures.resolved else "*")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--seeds", type=int, default=10, help="seeds first-seed..first-seed+N-1")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--at-steps", type=step_list, default=(0, 2_500, 5_000, 10_000, 20_000, 40_000))
    parser.add_argument("--batches", type=int, default=DEFAULT_BATCHES, help="K (default: %(default)s)")
    parser.add_argument("--jsonl", type=Path, help="also write every point, one JSON object a line, here")
    args = parser.parse_args()
    torch.set_num_threads(VPGConfig.torch_threads)  # as main.py does
    batches = args.batches
    started = time.perf_counter()

    names = "".join(f"{SHORT[name]:>9}" for name in ESTIMATORS)
    print(f"{args.env}, K = {batches}, debiased relative variance of the four estimators on the same batches")
    print("(* undecided: |g_bar|^2 < 2 tr Cov / K; chains total >= to-go >= base on raw / normalised Phi)")
    print(f"{'seed':>4}{'env steps':>10}{'return':>7}{'batch':>7} raw{names} norm{names}  chain raw / norm   seconds")
    rows: list[tuple[int, NoisePoint]] = []
    out = args.jsonl.open("w") if args.jsonl else None
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        trainer = VPGTrainer(config_for(args.env, seed=seed))
        for point in noise_along_run(trainer, args.at_steps, batches):
            rows.append((seed, point))
            chains = [chain([link(weights(point, kind), *pair) for pair in LINKS]) for kind in KINDS]
            mean_return = "-" if math.isnan(point.mean_return_100) else f"{point.mean_return_100:.0f}"
            raw = "".join(cell(point.noise.estimators[name]) for name in ESTIMATORS)
            normalised = "".join(cell(point.noise.normalised[name]) for name in ESTIMATORS)
            print(
                f"{seed:>4}{point.env_steps:>10,}{mean_return:>7}{point.noise.batch_steps:>7.0f}    {raw}     "
                f"{normalised}  {' / '.join(chains):<19}{point.noise.seconds:>6.2f}",
                flush=True,
            )
            if out is not None:
                out.write(json.dumps({"seed": seed, **point.to_dict()}) + "\n")
        trainer.close()
    if out is not None:
        out.close()
    for kind in KINDS:
        summarise(rows, batches, kind)
    print_medians(rows)
    seconds = [point.noise.seconds for _, point in rows]
    print(f"\none measurement: median {statistics.median(seconds):.2f} s, max {max(seconds):.2f} s")
    print(f"the whole benchmark: {time.perf_counter() - started:.0f} s")


def summarise(rows: list[tuple[int, NoisePoint]], batches: int, kind: str) -> None:
    """The verdict on ``kind`` weights: the chain and each link over all points and the
    decided ones; the exceptions; gae's rank."""
    total = len(rows)
    print(f"\n{kind} Phi: {total} (seed, point) pairs, K = {batches}")
    verdicts = [[link(weights(point, kind), *pair) for pair in LINKS] for _, point in rows]
    chain_holds = sum(all(v == "holds" for v in links) for links in verdicts)
    chain_decided = sum("undecided" not in links for links in verdicts)
    print(
        f"total-return >= reward-to-go >= baseline: holds at {chain_holds}/{total} pairs; "
        f"{chain_holds}/{chain_decided} of the pairs where both links are decided"
    )
    for index, (noisier, quieter) in enumerate(LINKS):
        counts = Counter(links[index] for links in verdicts)
        print(
            f"  {noisier} >= {quieter}: holds {counts['holds']}, fails {counts['fails']}, "
            f"undecided {counts['undecided']}"
        )
    print("where it fails (a decided link the wrong way round; * undecided):")
    for (seed, point), links in zip(rows, verdicts, strict=True):
        if "fails" in links:
            figures = weights(point, kind)
            wrong = [
                f"{a} {cell(figures[a]).strip()} < {b} {cell(figures[b]).strip()}"
                for (a, b), v in zip(LINKS, links, strict=True)
                if v == "fails"
            ]
            print(f"  seed {seed} at {point.env_steps:,} steps: {'; '.join(wrong)}")
    ranks = Counter(gae_rank(weights(point, kind)) for _, point in rows)
    print(
        "gae's rank (1 = the lowest debiased relative variance of the four): "
        + ", ".join(f"{rank}: {ranks[rank]}" for rank in range(1, 5))
    )


def print_medians(rows: list[tuple[int, NoisePoint]]) -> None:
    """The median over seeds of each estimator's debiased figure at each point, raw and
    normalised (undecided figures count as they read, often infinite), with how many of
    the seeds' figures are undecided."""
    print("\nmedian over seeds, by point (debiased relative variance; [undecided of n]):")
    steps = sorted({point.env_steps for _, point in rows})
    for kind in KINDS:
        print(f"{kind} Phi")
        print(f"{'env steps':>10}{'batch':>7}" + "".join(f"{SHORT[name]:>16}" for name in ESTIMATORS))
        for step in steps:
            at = [weights(point, kind) for _, point in rows if point.env_steps == step]
            batch = statistics.median(point.noise.batch_steps for _, point in rows if point.env_steps == step)
            cells = "".join(
                f"{statistics.median(f[name].debiased for f in at):>10.3g}"
                f" [{sum(not f[name].resolved for f in at):>2}]  "
                for name in ESTIMATORS
            )
            print(f"{step:>10,}{batch:>7.0f}{cells}  n={len(at)}")


if __name__ == "__main__":
    main()
