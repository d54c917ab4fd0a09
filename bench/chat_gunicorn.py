"""gunicorn settings used by ``bench/chat.py --gc-log`` (``-c bench/chat_gunicorn.py``):
the worker logs every garbage collection that took longer than 20 ms to stderr, where
the benchmark counts them. A diagnosis aid; it changes nothing else."""

from __future__ import annotations

import gc
import sys
import time
from typing import Any


def post_worker_init(worker: Any) -> None:
    started = [0.0]

    def watch(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        elif (spent := time.perf_counter() - started[0]) > 0.02:
            print(f"gc gen{info['generation']} {spent * 1000:.0f} ms "
                  f"collected {info['collected']}", file=sys.stderr, flush=True)

    gc.callbacks.append(watch)
