"""The pygame-ce window. Importing this package alone does not import pygame."""

MIN_WIDTH, MIN_HEIGHT = 960, 540
"""The smallest window the layout is made for (the command line checks --size with it)."""
MAX_WIDTH, MAX_HEIGHT = 3840, 2160
"""The largest window the layout is made for (4K): a bigger one would cost gigabytes."""
