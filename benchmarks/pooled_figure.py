"""A class's laptops pooled: 50 shards of 16 seeds merged into one 800-seed figure, timed.

    python benchmarks/pooled_figure.py                          # 50 x 16 seeds, 10,000 env steps each
    python benchmarks/pooled_figure.py --max-steps 300000       # the full budget: hours on two cores
    python benchmarks/pooled_figure.py --reuse                  # merge shards already written

Each shard is what one student's ``vpg-sim compare --headless --seeds K-L --json-out
shard-NN.json`` writes (the README's lesson: baseline against total-return), trained
here in-process without its figure; then ``vpg-sim merge shard-*.json --out pooled.png
--json`` runs as a command of its own, as the teacher would run it. Prints one JSON
object: the shards and seeds, the seconds spent training them, and the merge's seconds:
its whole command (start-up included) and, as the command itself reports it, reading and
checking the files apart from the statistics and the figure.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vpg_sim.cli import parse_arguments  # noqa: E402
from vpg_sim.cli.compare import comparison_groups  # noqa: E402
from vpg_sim.cli.comparison_file import comparison_json  # noqa: E402
from vpg_sim.cli.sequential import Engine, train_seeds  # noqa: E402
from vpg_sim.files import write_atomically  # noqa: E402

LESSON = ["--a", "estimator=baseline", "--b", "estimator=total-return"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", type=int, default=50)
    parser.add_argument("--seeds-per-shard", type=int, default=16)
    parser.add_argument("--max-steps", type=int, default=10_000, help="env steps per seed (default: %(default)s)")
    parser.add_argument("--folder", type=Path, default=Path("benchmark-shards"))
    parser.add_argument("--reuse", action="store_true", help="keep shard files already in the folder")
    parser.add_argument("--workers", type=int, default=1, help="processes each shard trains in (%(default)s)")
    options = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    options.folder.mkdir(parents=True, exist_ok=True)
    files, train_seconds = [], 0.0
    for shard in range(options.shards):
        first = shard * options.seeds_per_shard
        path = options.folder / f"shard-{shard:02d}.json"
        files.append(path)
        if options.reuse and path.is_file():
            continue
        seeds = f"{first}-{first + options.seeds_per_shard - 1}"
        args = parse_arguments(["compare", *LESSON, "--seeds", seeds, "--max-steps", str(options.max_steps)])
        started = time.perf_counter()
        with open(os.devnull, "w") as quiet:  # the shard's progress lines
            stderr, sys.stderr = sys.stderr, quiet
            try:
                groups = comparison_groups(args)
                engine = Engine(workers=options.workers)
                comparison = train_seeds(groups, args.seeds, args.max_steps, "shard", True, engine)
            finally:
                sys.stderr = stderr
        train_seconds += time.perf_counter() - started
        write_atomically(path, comparison_json(comparison))
        print(f"shard {shard + 1}/{options.shards}: seeds {seeds}, {train_seconds:.0f} s so far", file=sys.stderr)

    figure = options.folder / "pooled.png"
    command = [sys.executable, str(ROOT / "main.py"), "merge", *map(str, files), "--out", str(figure), "--json"]
    started = time.perf_counter()
    merged = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    merge_seconds = time.perf_counter() - started
    if merged.returncode != 0:
        sys.exit(merged.stderr.strip())
    groups = [json.loads(line) for line in merged.stdout.splitlines()]
    print(
        json.dumps(
            {
                "shards": options.shards,
                "seeds_per_group": len(groups[0]["seeds"]),
                "max_steps": options.max_steps,
                "train_seconds": round(train_seconds, 1) if train_seconds else "reused",
                "merge_command_seconds": round(merge_seconds, 1),
                "merge_reports": merged.stderr.strip().splitlines()[-1],
                "figure": str(figure),
                "solved": {group["group"]: group["solved"] for group in groups},
                "median_steps_to_solve": {group["group"]: group["median_steps_to_solve"] for group in groups},
                "return_end_iqm": {group["group"]: group["return_end"] for group in groups},
                "p_a_better_than_b": groups[0]["better_than"]["B"],
            }
        )
    )


if __name__ == "__main__":
    main()
