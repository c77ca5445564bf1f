"""How much faster do a sweep and a comparison run in worker processes?

    python benchmarks/sweep.py                       # both measurements, one pair each
    python benchmarks/sweep.py --pairs 3 --only sweep
    python benchmarks/sweep.py --baseline 7c58540    # compare against another commit

1. The README's lambda sweep (``--grid gae_lambda=0,0.5,0.9,0.97,1 --seeds 16``, CartPole)
   with ``--workers 2`` against ``--workers 1`` (target: >= 1.7x).
2. The README's compare lesson (``--a estimator=baseline --b estimator=total-return
   --seeds 16``) in this tree (``--workers 2``) against the ``--baseline`` commit, by
   default main before the workers came in (its compare trains both groups in one process;
   target: >= 1.7x). The baseline tree is exported (``git archive``) into a temporary folder.

Each command runs as the user runs it (``python main.py ... --headless --json``, start-up
included), the two sides alternately (A B A B ...) so that both see the same load on a
shared machine; a pair's ratio is A's wall time over B's, and the median ratio is
printed with every time. The JSON outputs of the two sides are compared (timings aside):
the workers must not change a number.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
BASELINE = "da8a2f8"
"""main before the workers came in: compare trained its two groups in one process (ComparisonRun)."""
SWEEP = ["sweep", "--grid", "gae_lambda=0,0.5,0.9,0.97,1", "--seeds", "16"]
LESSON = ["compare", "--a", "estimator=baseline", "--b", "estimator=total-return", "--seeds", "16"]


def timed(tree: Path, argv: list[str], out: Path) -> tuple[float, list[dict[str, object]]]:
    """Wall seconds of ``python main.py ARGV --headless --json --out OUT`` in ``tree``,
    and its JSON objects without their timings (also written beside OUT, as .jsonl)."""
    command = [sys.executable, "main.py", *argv, "--headless", "--json", "--out", str(out)]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=tree, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed in {tree}: {done.stderr.strip().splitlines()[-1:]}")
    out.with_suffix(".jsonl").write_text(done.stdout)
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return seconds, [{k: v for k, v in row.items() if k != "wall_seconds"} for row in rows]


def pairs(name: str, a: tuple[Path, list[str]], b: tuple[Path, list[str]], count: int, folder: Path) -> dict:
    """``count`` alternating runs of ``a`` (slow side) and ``b`` (fast side)."""
    times: dict[str, list[float]] = {"a": [], "b": []}
    outputs = {}
    for _ in range(count):
        for side, (tree, argv) in (("a", a), ("b", b)):
            seconds, rows = timed(tree, argv, folder / f"{name}-{side}.png")
            times[side].append(round(seconds, 1))
            outputs[side] = rows
            print(f"  {name} {side}: {seconds:.1f} s", file=sys.stderr, flush=True)
    ratios = [round(slow / fast, 2) for slow, fast in zip(times["a"], times["b"], strict=True)]
    return {
        "seconds_a": times["a"],
        "seconds_b": times["b"],
        "ratios": ratios,
        "median_ratio": statistics.median(ratios),
        "same_results": outputs["a"] == outputs["b"],
    }


def export(commit: str, folder: Path) -> Path:
    """The tree of ``commit`` of this repository, written into ``folder``."""
    folder.mkdir()
    archive = subprocess.run(["git", "archive", commit], cwd=HERE, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=1, help="alternating pairs per measurement")
    parser.add_argument("--only", choices=("sweep", "compare"), help="one of the two measurements")
    parser.add_argument("--baseline", default=BASELINE, help=f"the commit compare is measured against ({BASELINE})")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep each run's figure and JSON lines in DIR")
    args = parser.parse_args()
    result: dict[str, object] = {"cores": os.cpu_count(), "load_average_1min_before": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory(prefix="vpg-bench-") as temporary:
        folder = args.keep.resolve() if args.keep else Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        if args.only != "compare":
            result["lambda_sweep_1_worker_over_2"] = pairs(
                "sweep", (HERE, [*SWEEP, "--workers", "1"]), (HERE, [*SWEEP, "--workers", "2"]), args.pairs, folder
            )
        if args.only != "sweep":
            baseline = export(args.baseline, Path(temporary) / "baseline")
            result[f"compare_lesson_{args.baseline}_over_2_workers"] = pairs(
                "compare", (baseline, LESSON), (HERE, [*LESSON, "--workers", "2"]), args.pairs, folder
            )
    result["load_average_1min_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
