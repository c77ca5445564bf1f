"""How long from the command to a window on screen? (The target: 1.5 s.)

    Xvfb :99 -screen 0 1280x720x24 -nolisten tcp &
    DISPLAY=:99 python benchmarks/first_frame.py --runs 5

Starts ``python main.py --run-for 2`` as a person would and polls the X server's window
tree (``xwininfo -root -tree``, Debian's x11-utils) every 10 ms until a window titled
"vpg-sim" is mapped; prints the seconds for each run and their median as JSON. The
window draws "starting" the moment it is mapped, before PyTorch is imported.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def window_is_mapped() -> bool:
    tree = subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True, text=True, check=False).stdout
    return any('"vpg-sim' in line for line in tree.splitlines())


def seconds_to_window(timeout: float = 30.0) -> float:
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "--run-for", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while time.perf_counter() - started < timeout:
            if window_is_mapped():
                return time.perf_counter() - started
            time.sleep(0.01)
        raise RuntimeError("no window appeared")
    finally:
        process.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    seconds = [seconds_to_window() for _ in range(args.runs)]
    print(json.dumps({"seconds": [round(s, 3) for s in seconds], "median": round(statistics.median(seconds), 3)}))


if __name__ == "__main__":
    main()
