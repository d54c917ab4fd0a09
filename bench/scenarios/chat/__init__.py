"""``bench/chat.py``: the consultation chat under gunicorn's gevent worker."""
