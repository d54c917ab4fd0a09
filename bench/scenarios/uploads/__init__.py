"""``bench/uploads.py``: medical documents' upload memory, sealing speed, thumbnails."""
