"""Lessons: scripted, paced sequences of captions and actions a speaker advances with a
clicker (``script.py``: the file format; ``expectations.py``: what a step says the run
will show, judged against the run; ``catalog.py``: the lessons that ship, and reading a
lesson file). The window runs them (``ui/lesson/``)."""
