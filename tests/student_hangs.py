"""A student's module that never finishes importing (a loop left at its top level)."""

import time

while True:
    time.sleep(1)
