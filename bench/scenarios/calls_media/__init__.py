"""``bench/calls_media.py``: CPU of one aiortc media worker per test or recorded call."""
