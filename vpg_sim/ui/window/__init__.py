"""The main window: its frame loop (``app.py``), the record of what it shows and the
drawing of it (``view.py``), input (``input.py``: keys, buttons, mouse), what each command
does (``commands.py``), what both windows share (``basics.py``) and the run's watch
(``run_watch.py``: the real rate, collapses, rollbacks)."""
