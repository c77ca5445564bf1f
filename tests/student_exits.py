"""A student's function that ends its own process."""

import sys


def reward_to_go(rewards, next_values, terminated, truncated, gamma):
    sys.exit(3)
