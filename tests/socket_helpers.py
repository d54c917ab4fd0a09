"""Socket.IO test helpers: sign in over HTTP, a recording Socket.IO client, and a
consultation taken by a doctor with a live server (the ``room`` fixture)."""

from __future__ import annotations

import functools
import queue
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
import socketio

from consult import services
from core import clock
from core.extensions import db
from tests.accounts_helpers import PASSWORD, code_for
from tests.conftest import LiveServer
from tests.consult_helpers import activated_patient, on_shift_doctor

EVENTS = ("message", "typing", "receipt", "status", "position", "queue",
          "call", "call_signal", "call_peer", "call_media", "call_recording", "documents", "ring")

COVERED = datetime(2026, 3, 30, 4, 0, tzinfo=UTC)


def login(base: str, user: Any) -> str:
    """Sign in over HTTP; the Cookie header a browser would send afterwards."""
    s = requests.Session()
    r = s.post(f"{base}/login", data={"email": user.email, "password": PASSWORD,
                                      "csrf_token": _csrf(s, f"{base}/login")},
               allow_redirects=False)
    assert r.status_code == 302, r.text[:300]
    if user.totp_enabled:
        r = s.post(f"{base}/login/code", allow_redirects=False, data={
            "code": code_for(user), "csrf_token": _csrf(s, f"{base}/login/code")})
        assert r.status_code == 302
    return "; ".join(f"{c.name}={c.value}" for c in s.cookies)


def _csrf(s: requests.Session, url: str) -> str:
    page = s.get(url).text
    marker = 'name="csrf_token" type="hidden" value="'
    start = page.find(marker)
    return page[start + len(marker):page.index('"', start + len(marker))] if start >= 0 else ""


class Peer:
    """A Socket.IO client that records what the server sends it."""

    def __init__(self, base: str, cookie: str | None) -> None:
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.kept: list[tuple[str, Any]] = []
        self.sio = socketio.Client(reconnection=False)
        for name in EVENTS:
            self.sio.on(name, self._recorder(name))
        headers = {"Cookie": cookie} if cookie else {}
        self.sio.connect(base, headers=headers, transports=["websocket"], wait_timeout=10)

    def _recorder(self, name: str) -> Any:
        return lambda data: self.events.put((name, data))

    def call(self, event: str, data: dict[str, Any]) -> Any:
        return self.sio.call(event, data, timeout=10)

    def expect(self, name: str, timeout: float = 10) -> Any:
        """The next ``name`` event; events of other names received meanwhile are kept
        for later ``expect`` calls."""
        for i, (got, data) in enumerate(self.kept):
            if got == name:
                del self.kept[i]
                return data
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                got, data = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if got == name:
                return data
            self.kept.append((got, data))
        raise AssertionError(f"no {name!r} event")

    def none(self, name: str, wait: float = 0.5) -> None:
        time.sleep(wait)
        while not self.events.empty():
            self.kept.append(self.events.get_nowait())
        assert all(got != name for got, _ in self.kept), self.kept

    def drain(self, wait: float = 0.2) -> None:
        """Forget every event received so far (after ``wait`` for stragglers)."""
        time.sleep(wait)
        while not self.events.empty():
            self.events.get_nowait()
        self.kept.clear()

    def close(self) -> None:
        ws = getattr(self.sio.eio, "ws", None)
        if ws is not None:  # Werkzeug's dev server never answers the close frame: don't
            ws.close = functools.partial(ws.close, timeout=0.1)  # wait 3 s for it
        self.sio.disconnect()


@pytest.fixture
def room(app, client, no_csrf):
    """A consultation taken by a doctor, a live server, and both sides signed in."""
    app.config.update(RATELIMIT_LOGIN_ACCOUNT_IP="1000 per minute",
                      RATELIMIT_SECOND_FACTOR="1000 per minute")
    clock.freeze(COVERED - timedelta(days=20))
    patient, insured = activated_patient(client)
    clock.freeze(COVERED)
    doctor = on_shift_doctor()
    consultation = services.request_consultation(
        patient, services.ConsultationRequest(insured.id, "Cough", "chat"), "ru")
    services.take(doctor, consultation.id)
    db.session.commit()
    with LiveServer(app) as server:
        peers: list[Peer] = []
        cookies: dict[int, str] = {}  # a second sign-in in the same TOTP step is refused

        def cookie(user: Any) -> str:
            if user.id not in cookies:
                cookies[user.id] = login(server.url, user)
            return cookies[user.id]

        def connect(user: Any | None) -> Peer:
            peer = Peer(server.url, cookie(user) if user else None)
            peers.append(peer)
            return peer

        yield {"id": consultation.id, "patient": patient, "doctor": doctor,
               "connect": connect, "cookie": cookie, "server": server, "insured": insured}
        for peer in peers:
            peer.close()


