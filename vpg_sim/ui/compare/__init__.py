"""The comparison window: its frame loop (``app.py``), its keys (``commands.py``) and its
panels (``panels.py``: a stage per group, the returns panel)."""
