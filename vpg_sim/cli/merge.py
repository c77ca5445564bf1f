"""``vpg-sim merge FILE... --out fig.png [--json]``: a class's laptops pooled into one figure.

Each FILE is a ``compare --headless --json-out`` file (fifty students, sixteen seeds each:
``--seeds 0-15``, ``--seeds 16-31``, ...). The files must have run the same thing (env,
vpg-sim version, groups, configs, budgets) and hold no seed twice; the first difference
is named in one line (exit 2). The pooled seeds give the figure and the statistics one
run over all of them would (``comparison_file.pool``). Nothing here imports torch: a
merge of 800 seeds needs only numpy, scipy and matplotlib.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

MAX_FILES = 10_000


def add_merge_command(commands: Any) -> None:
    """The ``merge`` subparser (``commands``: ``build_parser``'s subparsers)."""
    merge = commands.add_parser(
        "merge",
        help="pool compare --json-out files (a class's laptops, a cluster's jobs) into one figure",
        description="Join files written by compare --headless --json-out (the same groups and configs, "
        "different seeds) into the figure and statistics one run over all their seeds would give.",
    )
    merge.add_argument("files", type=Path, nargs="+", metavar="FILE", help="compare --json-out files")
    merge.add_argument("--out", type=Path, metavar="FILE.png", help="the figure (default: merged-<env>.png)")
    merge.add_argument("--json", action="store_true", help="print one JSON object per group")
    merge.add_argument("--json-out", type=Path, metavar="FILE", help="also write the pooled seeds as one such file")
    merge.add_argument(
        "--stat",
        choices=("iqm", "mean"),
        default="iqm",
        help="iqm: interquartile means and bootstrap intervals (default); mean: means and t-intervals",
    )


def merge_command(args: argparse.Namespace) -> int:
    from vpg_sim.cli.arguments import PROG, fail
    from vpg_sim.cli.compare import report
    from vpg_sim.cli.comparison_file import ComparisonFileError, pool, read_comparison

    if len(args.files) > MAX_FILES:
        return fail(f"merge: {len(args.files)} files, more than {MAX_FILES:,}")
    started = time.monotonic()
    try:
        comparison = pool([read_comparison(path) for path in args.files], [str(path) for path in args.files])
    except ComparisonFileError as error:
        return fail(f"merge: {error}")
    read_seconds = time.monotonic() - started
    out = args.out or Path(f"merged-{comparison.env_id.replace('/', '_')}.png")
    status = report(comparison, args, out, {}, fail)
    if status == 0:
        seeds = len(comparison.results[0].seeds)
        print(
            f"{PROG}: merged {len(args.files)} files, {seeds} seeds per group: read and checked in "
            f"{read_seconds:.1f} s, statistics and figure in {time.monotonic() - started - read_seconds:.1f} s; "
            f"wrote {out}",
            file=sys.stderr,
        )
    return status
