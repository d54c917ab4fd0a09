"""``bench/auth.py``: password verification, sign-ins per core, audit appends."""
