"""vpg-sim: watch a Vanilla Policy Gradient agent learn. Run ``python main.py --help``."""

import sys

from vpg_sim.cli import main

if __name__ == "__main__":
    sys.exit(main())
