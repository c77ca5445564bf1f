"""The window's pygame_gui widgets: their theme (``theme.py``), questions before losing a
run (``confirm.py``), the load and env lists (``dialogs.py``) and the knobs (``knobs.py``)."""
