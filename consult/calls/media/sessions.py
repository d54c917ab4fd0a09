"""Media sessions of one worker: a registry keyed by session id, and what each kind of
session does with the peer connection (``echo`` now; ``record`` later)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay

log = logging.getLogger("consult.media")


class SessionRefused(Exception):
    """The offer cannot start a session; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Session:
    """One peer connection with a browser (or a test peer), ended by its timer or when
    the connection fails or closes."""

    id: str
    kind: str
    pc: RTCPeerConnection
    params: dict[str, Any] = field(default_factory=dict)  # the offer's kind-specific fields
    relay: MediaRelay = field(default_factory=MediaRelay)
    timer: asyncio.Task[None] | None = None
    # Run when the session ends, after the connection is closed (e.g. store a recording).
    on_end: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


def setup_echo(session: Session) -> None:
    """Send every received track back to its sender (the connection test)."""

    @session.pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        # Video: the newest frame only (no queue growing behind a slow encoder); audio:
        # every frame, in order.
        session.pc.addTrack(session.relay.subscribe(track, buffered=track.kind == "audio"))


RECORD_SECONDS = 4 * 3600  # a recorded call's longest duration


def setup_record(session: Session) -> None:
    """Record the session's audio into its call's recording (consult.calls.media.recorder)."""
    if RECORDINGS is None:
        raise ValueError("recording is not configured on this worker")
    RECORDINGS.attach(session)


KINDS: dict[str, Callable[[Session], None]] = {"echo": setup_echo, "record": setup_record}
RECORDINGS: Any = None  # the worker's consult.calls.media.recorder.Recordings, set at start


class Sessions:
    """The worker's live sessions, at most ``maximum`` at once, each at most
    ``seconds`` long."""

    def __init__(self, maximum: int, seconds: float, stun: list[str]) -> None:
        self.maximum = maximum
        self.seconds = seconds
        self.stun = stun
        self.live: dict[str, Session] = {}

    def __len__(self) -> int:
        return len(self.live)

    def configuration(self) -> RTCConfiguration:
        """Always an explicit list: with None aiortc would ask a public STUN server."""
        return RTCConfiguration(iceServers=[RTCIceServer(urls=url) for url in self.stun])

    async def start(self, session_id: str, kind: str, sdp: str,
                    params: dict[str, Any] | None = None) -> RTCSessionDescription:
        """Answer a complete (non-trickle) offer with a complete answer and start the
        session. Raises SessionRefused (409 duplicate id, 503 full, 400 bad offer)."""
        if kind not in KINDS:
            raise SessionRefused(400, f"unknown session kind {kind!r}")
        if session_id in self.live:
            raise SessionRefused(409, "a session with this id exists")
        if kind == "record":  # a side's new connection (a reload) replaces its old one
            for old in [x for x in self.live.values() if x.kind == "record"
                        and x.params.get("recording") == (params or {}).get("recording")
                        and x.params.get("side") == (params or {}).get("side")]:
                await self.end(old.id)
        if len(self.live) >= self.maximum:
            raise SessionRefused(503, "the media worker is busy")
        session = Session(session_id, kind, RTCPeerConnection(self.configuration()),
                          params=dict(params or {}))
        self.live[session_id] = session  # hold the place before the first await

        @session.pc.on("connectionstatechange")
        async def on_state() -> None:
            if session.pc.connectionState in ("failed", "closed"):
                await self.end(session_id)

        try:
            KINDS[kind](session)
            await session.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            if not session.pc.getTransceivers():
                raise ValueError("the offer has no media")
            await session.pc.setLocalDescription(await session.pc.createAnswer())
        except Exception as exc:  # aiortc raises ValueError, KeyError... on odd SDP
            log.info("session %s: bad offer: %s", session_id, exc)
            await self.end(session_id)
            raise SessionRefused(400, "the offer could not be answered") from exc
        session.timer = asyncio.create_task(self._expire(session_id))
        log.info("session %s (%s) started; %d live", session_id, kind, len(self.live))
        return session.pc.localDescription

    async def _expire(self, session_id: str) -> None:
        session = self.live.get(session_id)
        await asyncio.sleep(RECORD_SECONDS if session and session.kind == "record"
                            else self.seconds)
        await self.end(session_id, expired=True)

    async def end(self, session_id: str, expired: bool = False) -> None:
        """Close the session's connection and forget it (idempotent)."""
        session = self.live.pop(session_id, None)
        if session is None:
            return
        if session.timer is not None and not expired:
            session.timer.cancel()
        await session.pc.close()
        for callback in session.on_end:
            try:
                await callback()
            except Exception:
                log.exception("session %s: ending failed", session_id)
        log.info("session %s ended%s; %d live", session_id, " (time)" if expired else "",
                 len(self.live))

    async def end_all(self) -> None:
        """Close every session (the worker is stopping)."""
        for session_id in list(self.live):
            await self.end(session_id)
