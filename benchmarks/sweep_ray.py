"""The same sweep on this machine's workers and on a local Ray instance: same numbers? how long?

    python benchmarks/sweep_ray.py                          # the README's lambda sweep
    python benchmarks/sweep_ray.py --seeds 4 --budget 50000 --out assets/sweep_local_vs_ray.png

Runs ``vpg-sim sweep --grid gae_lambda=0,0.5,0.9,0.97,1 --headless --json`` twice, with
``--workers 2`` and with ``--ray local`` (a private Ray instance on this machine, each
cell a task), prints one JSON object (both wall times, start-up included; whether the
JSON lines and the PNG files are identical) and writes both figures side by side, each
titled with how it ran and how long it took. Needs the extra: pip install 'vpg-sim[cluster]'.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import matplotlib.image
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

HERE = Path(__file__).resolve().parent.parent


def sweep(argv: list[str], out: Path) -> tuple[float, str]:
    """Wall seconds and stdout of ``python main.py sweep ARGV --out OUT``."""
    started = time.perf_counter()
    command = [sys.executable, "main.py", "sweep", *argv, "--out", str(out)]
    done = subprocess.run(command, cwd=HERE, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"sweep {' '.join(argv)} failed: {done.stderr.strip().splitlines()[-1:]}")
    return time.perf_counter() - started, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="16")
    parser.add_argument("--budget", help="env steps per agent (default: the config's)")
    parser.add_argument("--out", type=Path, default=Path("sweep_local_vs_ray.png"), help="the side-by-side figure")
    args = parser.parse_args()
    grid = ["--grid", "gae_lambda=0,0.5,0.9,0.97,1", "--seeds", args.seeds, "--headless", "--json"]
    grid += ["--budget", args.budget] if args.budget else []
    with tempfile.TemporaryDirectory(prefix="vpg-ray-") as temporary:
        folder = Path(temporary)
        runs = {
            "this machine, 2 worker processes": (["--workers", "2"], folder / "local.png"),
            "a local Ray instance, a task per cell": (["--ray", "local"], folder / "ray.png"),
        }
        results = {name: sweep([*grid, *extra], out) for name, (extra, out) in runs.items()}
        (local_seconds, local_json), (ray_seconds, ray_json) = results.values()
        pngs = [out.read_bytes() for _, out in runs.values()]
        figure = Figure(figsize=(20, 7.6), layout="constrained")  # room above each figure for its title
        panels = zip(figure.subplots(1, 2), runs.items(), results.values(), strict=True)
        for axes, (name, (_, out)), (seconds, _) in panels:
            axes.imshow(matplotlib.image.imread(out))
            axes.set_title(f"{name}: {seconds:.0f} s", fontsize=16)
            axes.axis("off")
        same = "the same JSON and PNG bytes" if local_json == ray_json and pngs[0] == pngs[1] else "DIFFERENT results"
        figure.suptitle(f"One sweep, two engines: {same}", fontsize=18)
        FigureCanvasAgg(figure)
        figure.savefig(args.out, dpi=100)
    print(
        json.dumps(
            {
                "seconds_2_workers": round(local_seconds, 1),
                "seconds_ray_local": round(ray_seconds, 1),
                "same_json": local_json == ray_json,
                "same_png_bytes": pngs[0] == pngs[1],
                "figure": str(args.out),
            }
        )
    )


if __name__ == "__main__":
    main()
