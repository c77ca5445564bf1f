"""The sweep window: every cell of a grid over seeds, live (``app.py``); its cells as a
table or a heat map (``panels.py``)."""
