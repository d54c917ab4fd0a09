"""``bench/slots.py``: the free-slot search for a specialty."""
