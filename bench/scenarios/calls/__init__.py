"""``bench/calls.py``: call set-up time between two headless Chromium instances."""
