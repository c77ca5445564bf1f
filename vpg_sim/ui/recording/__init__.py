"""Recording the window: an MP4 or GIF through imageio-ffmpeg's ffmpeg (``recorder.py``,
``ffmpeg.py``), and the desk both windows record through (``desk.py``)."""
