"""A lesson run in the window: the runner (the window's mode) and its caption band."""
