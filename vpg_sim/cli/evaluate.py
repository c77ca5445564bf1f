"""``vpg-sim eval``: greedy episodes of a saved policy, headless."""

from __future__ import annotations

import argparse
import json

from vpg_sim.cli.arguments import fail


def eval_command(args: argparse.Namespace) -> int:
    from vpg_sim.core.evaluation import evaluate_greedy
    from vpg_sim.policy_files import PolicyFileError, check_env, load_policy, policy_from_file

    try:
        loaded = load_policy(args.path)
        check_env(loaded)  # as play and --load do: a file's spaces must be its env's
        policy = policy_from_file(loaded)
    except PolicyFileError as error:
        return fail(str(error))
    returns = evaluate_greedy(policy, loaded.config.env_id, args.episodes, seed=args.seed)
    result = {
        "path": str(args.path),
        "env": loaded.config.env_id,
        "update": loaded.metadata.update,
        "episodes": args.episodes,
        "mean": float(returns.mean()),
        "std": float(returns.std()),
        "min": float(returns.min()),
        "max": float(returns.max()),
    }
    if loaded.metadata.student_code:  # a label: the file imports nothing
        result["student_code"] = loaded.metadata.student_code
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{args.path}: {loaded.config.env_id}, update {loaded.metadata.update}, {args.episodes} greedy episodes: "
            f"mean {result['mean']:.1f} ± {result['std']:.1f}, min {result['min']:.0f}, max {result['max']:.0f}"
            + (f" (trained with {loaded.metadata.student_code})" if loaded.metadata.student_code else "")
        )
    return 0
