"""How often does ``compare --until-decided`` name a winner where there is none?

    python benchmarks/until_decided.py                    # 300 simulated comparisons per case
    python benchmarks/until_decided.py --experiments 1000

Simulates the rule of ``cli/sequential.py`` on steps to solve drawn at random, not
trained: batches of 16 seeds per group up to 128 (8 looks), each look the stratified
bootstrap interval of P(A solves in fewer steps than B) (``core/statistics.py``, 2000
resamples, as the command). Steps to solve are log-normal around 70,000 (the spread of
the README's lesson, sigma 0.3) with 5% of seeds unsolved. Two cases: the groups alike
(any decision is an error: the rate the rule promises to keep within 5%) and B 15%
slower (how often and how soon it is decided). Each case under the rule's Bonferroni
level (1 - 0.05/8 per look) and, for contrast, a plain 95% interval at every look.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vpg_sim.core.statistics import CONFIDENCE, improvement_interval, per_look_confidence

BATCH, MOST = 16, 128
MEDIAN, SIGMA, UNSOLVED = 70_000.0, 0.3, 0.05


def draw(rng: np.random.Generator, count: int, slower: float) -> np.ndarray:
    steps = rng.lognormal(math.log(MEDIAN * slower), SIGMA, count)
    return np.where(rng.random(count) < UNSOLVED, math.inf, steps)


def sequential(rng: np.random.Generator, slower: float, confidence: float) -> tuple[bool, int]:
    """One simulated comparison: (decided, seeds per group it took)."""
    a, b = np.zeros(0), np.zeros(0)
    for _ in range(MOST // BATCH):
        a, b = np.concatenate([a, draw(rng, BATCH, 1.0)]), np.concatenate([b, draw(rng, BATCH, slower)])
        _, low, high = improvement_interval(a, b, confidence=confidence)
        if low > 0.5 or high < 0.5:
            return True, len(a)
    return False, len(a)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", type=int, default=300)
    options = parser.parse_args()
    looks = MOST // BATCH
    rules = {"bonferroni": per_look_confidence(looks, CONFIDENCE), "naive_95_each_look": CONFIDENCE}
    report: dict[str, object] = {"experiments": options.experiments, "looks": looks, "batch": BATCH}
    for case, slower in (("alike", 1.0), ("b_15_percent_slower", 1.15)):
        for rule, confidence in rules.items():
            rng = np.random.default_rng(2024)  # the same simulated comparisons under both rules
            outcomes = [sequential(rng, slower, confidence) for _ in range(options.experiments)]
            decided = [seeds for done, seeds in outcomes if done]
            rate = len(decided) / options.experiments
            report[f"{case}/{rule}"] = {
                "decided": round(rate, 3),
                "monte_carlo_se": round(math.sqrt(rate * (1 - rate) / options.experiments), 3),
                "median_seeds_when_decided": float(np.median(decided)) if decided else None,
            }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
