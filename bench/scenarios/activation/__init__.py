"""``bench/activation.py``: the registry import and the activation API."""
