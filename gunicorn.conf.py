"""gunicorn settings that travel with the code (gunicorn reads ./gunicorn.conf.py from
the directory it starts in; the command line still chooses the worker, port, etc.).

Request bodies are read 64 KiB at a time. gunicorn 27 reads up to 1 MiB per ``recv``
and copies its buffer on every read, which made a 20 MB document upload cost the
worker 4 MiB of memory and a third of its speed (bench/uploads.py, docs/performance.md).
``max_body_chunk`` is not a documented setting: the guard leaves newer gunicorns alone,
and the benchmark shows whether it still matters after an upgrade.
"""

from gunicorn.http.unreader import SocketUnreader

if hasattr(SocketUnreader, "max_body_chunk"):
    SocketUnreader.max_body_chunk = 64 * 1024
