"""Is the textbook right that total-return >= reward-to-go >= baseline in variance? And gae?

    python benchmarks/variance.py --seeds 10
    python benchmarks/variance.py --seeds 10 --batches 64 --jsonl variance-k64.jsonl

For each seed, trains the default config from scratch (as ``vpg-sim variance`` does) and
at each of ``--at-steps`` measures the four estimators' relative variance on the same K
batches (``vpg_sim/core/gradient_noise.py``). Prints a row per (seed, point), then:
how often the ordering total-return >= reward-to-go >= baseline holds, link by link, the
points where it does not, and where gae sits.

A link a >= b is *undecided* when both figures are at least K/2: neither estimator has a
signal K batches can resolve (a policy that plays every episode to the time limit has a
true gradient of ~0), so their order there is the order of two noise draws. The verdict
is given over all points and over the decided ones.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from vpg_sim.cli.variance import DEFAULT_BATCHES, NoisePoint, noise_along_run, step_list
from vpg_sim.core.advantages import ESTIMATORS
from vpg_sim.core.config import VPGConfig, config_for
from vpg_sim.core.trainer import VPGTrainer

LINKS = (("total-return", "reward-to-go"), ("reward-to-go", "baseline"))
"""The textbook's chain, link by link: the first of each pair should be the noisier."""
SHORT = {"total-return": "total", "reward-to-go": "to-go", "baseline": "base", "gae": "gae"}


def link(figures: dict[str, float], noisier: str, quieter: str, batches: int) -> str:
    """``holds``, ``fails`` or ``undecided`` (both at or over K/2) for ``noisier >= quieter``."""
    if min(figures[noisier], figures[quieter]) >= batches / 2:
        return "undecided"
    return "holds" if figures[noisier] >= figures[quieter] else "fails"


def gae_rank(figures: dict[str, float]) -> int:
    """1 if gae has the lowest relative variance of the four, 4 if the highest."""
    return sorted(figures.values()).index(figures["gae"]) + 1


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

    names = "".join(f"{SHORT[name]:>9}" for name in ESTIMATORS)
    print(f"{args.env}, K = {batches}, relative variance of the four estimators on the same batches")
    print(f"{'seed':>4}{'env steps':>10}{'return':>7}{'batch':>7}{names}   {'chain (links)':<29}gae  seconds")
    rows: list[tuple[int, NoisePoint]] = []
    out = args.jsonl.open("w") if args.jsonl else None
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        trainer = VPGTrainer(config_for(args.env, seed=seed))
        for point in noise_along_run(trainer, args.at_steps, batches):
            rows.append((seed, point))
            figures = point.noise.relative_variance
            links = [link(figures, *pair, batches) for pair in LINKS]
            chain = "fails" if "fails" in links else "undecided" if "undecided" in links else "holds"
            mean_return = "-" if math.isnan(point.mean_return_100) else f"{point.mean_return_100:.0f}"
            values = "".join(f"{figures[name]:>9.3g}" for name in ESTIMATORS)
            print(
                f"{seed:>4}{point.env_steps:>10,}{mean_return:>7}{point.noise.batch_steps:>7.0f}{values}"
                f"   {chain:<9} {'/'.join(links):<19}{gae_rank(figures):>4}{point.noise.seconds:>9.2f}",
                flush=True,
            )
            if out is not None:
                out.write(json.dumps({"seed": seed, **point.to_dict()}) + "\n")
        trainer.close()
    if out is not None:
        out.close()
    summarise(rows, batches)


def summarise(rows: list[tuple[int, NoisePoint]], batches: int) -> None:
    """The verdict: the chain and each link over all points and the decided ones; the
    exceptions; gae's rank; the median of each estimator at each point."""
    total = len(rows)
    print(f"\n{total} (seed, point) pairs, K = {batches}; undecided: both figures >= K/2 = {batches / 2:g}")
    verdicts = [[link(point.noise.relative_variance, *pair, batches) for pair in LINKS] for _, point in rows]
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
    print("where it fails (a decided link the wrong way round):")
    for (seed, point), links in zip(rows, verdicts, strict=True):
        if "fails" in links:
            figures = point.noise.relative_variance
            wrong = [
                f"{a} {figures[a]:.3g} < {b} {figures[b]:.3g}"
                for (a, b), v in zip(LINKS, links, strict=True)
                if v == "fails"
            ]
            print(f"  seed {seed} at {point.env_steps:,} steps: {'; '.join(wrong)}")
    ranks = Counter(gae_rank(point.noise.relative_variance) for _, point in rows)
    print(
        "gae's rank (1 = the lowest relative variance of the four): "
        + ", ".join(f"{rank}: {ranks[rank]}" for rank in range(1, 5))
    )
    print("\nmedian over seeds, by point (relative variance; cosine in brackets):")
    steps = sorted({point.env_steps for _, point in rows})
    print(f"{'env steps':>10}{'batch':>7}" + "".join(f"{SHORT[name]:>16}" for name in ESTIMATORS))
    for step in steps:
        at = [point for _, point in rows if point.env_steps == step]
        cells = "".join(
            f"{statistics.median(p.noise.relative_variance[name] for p in at):>9.3g}"
            f" ({statistics.median(p.noise.cosine[name] for p in at):4.2f})"
            for name in ESTIMATORS
        )
        print(f"{step:>10,}{statistics.median(p.noise.batch_steps for p in at):>7.0f}{cells}  n={len(at)}")
    seconds = [point.noise.seconds for _, point in rows]
    print(f"\none measurement: median {statistics.median(seconds):.2f} s, max {max(seconds):.2f} s")


if __name__ == "__main__":
    main()
