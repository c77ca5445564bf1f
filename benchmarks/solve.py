"""How fast does the default config solve an env? One JSON line per seed, then a summary.

    python benchmarks/solve.py --env CartPole-v1 --seeds 10
    python benchmarks/solve.py --seeds 10 --set policy_lr=0.01 --set vf_iters=5

Each seed runs until solved or ``--max-steps``; seconds exclude start-up (imports,
building envs and nets). ``--set`` overrides a config field, for tuning sweeps.
"""

from __future__ import annotations

import argparse
import ast
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from vpg_sim.core.config import VPGConfig, config_for
from vpg_sim.core.trainer import VPGTrainer
from vpg_sim.training.headless import run_headless


def parse_override(text: str) -> tuple[str, object]:
    """``key=value`` with a Python literal value (``0.01``, ``None``, ``(64, 64)``)."""
    key, _, raw = text.partition("=")
    if not raw:
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    try:
        return key, ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return key, raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--seeds", type=int, default=10, help="train seeds 0..N-1")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--max-steps", type=int, default=500_000)
    parser.add_argument("--set", type=parse_override, action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    torch.set_num_threads(VPGConfig.torch_threads)

    results = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        trainer = VPGTrainer(config_for(args.env, seed=seed, **dict(args.set)))
        result = run_headless(trainer, args.max_steps, until_solved=True)
        trainer.close()
        results.append(result)
        print(json.dumps(result.to_dict()), flush=True)

    solved = [r for r in results if r.solved]
    summary = {
        "summary": True,
        "env": args.env,
        "overrides": dict(args.set),
        "solved": f"{len(solved)}/{len(results)}",
        "median_steps_to_solve": statistics.median(r.steps_to_solve for r in solved) if solved else None,
        "max_steps_to_solve": max(r.steps_to_solve for r in solved) if solved else None,
        "median_seconds_to_solve": round(statistics.median(r.seconds_to_solve for r in solved), 3) if solved else None,
        "median_env_steps_per_second": round(statistics.median(r.env_steps_per_second for r in results)),
    }
    print(json.dumps(summary, default=str), flush=True)


if __name__ == "__main__":
    main()
