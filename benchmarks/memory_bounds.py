"""Peak memory of ``compare`` by seeds and ``variance`` by batches, beside the estimates
that bound them (``vpg_sim/cli/memory.py``).

    python benchmarks/memory_bounds.py            # ~2 minutes on 2 cores

Each run is a process of its own (``python -c``), reporting its peak resident memory
(``ru_maxrss``). compare runs headless with CartPole's default config (estimate: without
the window's share); variance measures at 40,000 env steps, where CartPole's episodes
mostly run to the 500-step limit. A measurement above its estimate, by more than a few
percent, means the constants in ``memory.py`` are due for new figures.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vpg_sim.cli.memory import (  # noqa: E402
    COMPARE_PROCESS_MB,
    VARIANCE_PROCESS_MB,
    WINDOW_SHARE,
    agent_megabytes,
    batch_megabytes,
)
from vpg_sim.core.config import config_for  # noqa: E402

PEAK = """
import resource, sys
from vpg_sim.cli import main
status = main(sys.argv[1:])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, file=sys.stderr)  # kB on Linux
sys.exit(status)
"""
HEADLESS_PROCESS_MB = 300.0
"""compare's process headless (its estimate, COMPARE_PROCESS_MB, holds the window's too)."""


def peak_megabytes(*argv: str) -> float:
    done = subprocess.run([sys.executable, "-c", PEAK, *argv], cwd=ROOT, capture_output=True, text=True, check=True)
    return float(done.stderr.strip().splitlines()[-1])


def main() -> None:
    config = config_for("CartPole-v1")
    per_seed = 2 * agent_megabytes(config, 4, 2) / WINDOW_SHARE
    print(f"compare, headless, CartPole default config, both groups (bound's process share: {COMPARE_PROCESS_MB} MB)")
    print(f"{'seeds':>6} {'measured MB':>12} {'estimate MB':>12}")
    with tempfile.TemporaryDirectory() as folder:
        for seeds in (16, 64, 128):
            argv = ["compare", "--headless", "--seeds", str(seeds), "--max-steps", "2048", "--a", "estimator=baseline"]
            measured = peak_megabytes(*argv, "--out", str(Path(folder) / "compare.png"))
            print(f"{seeds:>6} {measured:>12.0f} {HEADLESS_PROCESS_MB + seeds * per_seed:>12.0f}", flush=True)
    per_batch = batch_megabytes(config, 500)
    print(f"\nvariance at 40,000 env steps, CartPole ({per_batch:.2f} MB a batch estimated)")
    print(f"{'batches':>8} {'measured MB':>12} {'estimate MB':>12}")
    for batches in (2, 64):
        measured = peak_megabytes("variance", "--at-steps", "40000", "--batches", str(batches), "--json")
        print(f"{batches:>8} {measured:>12.0f} {VARIANCE_PROCESS_MB + batches * per_batch:>12.0f}", flush=True)


if __name__ == "__main__":
    main()
