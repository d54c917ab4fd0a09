"""Media worker test helpers: a worker process of the test app's deployment, aiortc
peers run in a thread of their own, loopback-only candidates, and a worker that
records calls (the ``recording_worker`` fixture)."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from consult.media.children import Child, start_workers, stop_workers
from consult.media.common import worker_token
from tests.conftest import TEST_CONFIG

TOKEN = worker_token(TEST_CONFIG["SECRET_KEY"])


def launch(**settings: Any) -> Child:
    """A worker process of the test app's deployment (same SECRET_KEY), host
    candidates on 127.0.0.1 only, without Redis unless given."""
    config = {"SECRET_KEY": TEST_CONFIG["SECRET_KEY"], "MEDIA_HOST_ADDRESSES": "127.0.0.1",
              "MEDIA_MAX_SESSIONS": 4, "MEDIA_TEST_SECONDS": 20, "CALL_ICE_SERVERS": "",
              "REDIS_URL": "", **settings}
    children = start_workers(config, 1)
    assert children, "the media worker did not start"
    return children[0]


def worker_api(url: str, path: str, body: Any = None, token: str | None = TOKEN
               ) -> tuple[int, dict[str, Any]]:
    """Call the worker's API directly (as the web app does)."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, headers=headers,  # noqa: S310
                                     method="GET" if data is None else "POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as r:  # noqa: S310
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def run_peer(coro: Any) -> Any:
    """Run an aiortc coroutine to completion in a thread of its own: Playwright's sync
    API (the e2e tests, earlier in the same session) leaves an event loop marked running
    in the main thread, where asyncio.run refuses to start."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


@pytest.fixture
def loopback_peer(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process's aiortc peers gather host candidates on 127.0.0.1 only."""
    import aioice.ice

    monkeypatch.setattr(aioice.ice, "get_host_addresses",
                        lambda use_ipv4, use_ipv6: ["127.0.0.1"] if use_ipv4 else [])


@pytest.fixture
def recording_worker(app: Any, tmp_path: Any) -> Iterator[Child]:
    """Call recording offered, with a worker storing into a fresh folder (encrypted
    with the app's DATA_KEYS), the app pointed at it."""
    folder = tmp_path / "recordings"
    child = launch(CALL_RECORDING=True, RECORDINGS_DIR=str(folder),
                   DATA_KEYS=app.config["DATA_KEYS"])
    app.config.update(CALL_RECORDING=True, RECORDINGS_DIR=str(folder),
                      MEDIA_WORKER_URLS=child.url)
    yield child
    stop_workers([child])
