"""Recording a call's audio in the media worker: both sides' microphones, each from its
own browser connection, mixed live into one Ogg Opus stream kept in memory, then
encrypted (Fernet, DATA_KEYS) and written under a random name. Plain audio never
touches the disk; a worker that dies mid-call loses that recording (the consultation
says "failed")."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import secrets
from array import array
from collections import deque
from pathlib import Path
from typing import Any, cast

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from cryptography.fernet import Fernet, MultiFernet

log = logging.getLogger("consult.media")

RATE = 48_000
TICK_SAMPLES = 960  # 20 ms
TICK_BYTES = TICK_SAMPLES * 2  # s16 mono
SILENCE = bytes(TICK_BYTES)
BITRATE = 32_000  # speech, mono: ~14 MB an hour
MAX_QUEUED_TICKS = 25  # 0.5 s of jitter per side; older audio is dropped beyond
IDLE_SECONDS = 30  # silence from both sides longer than this is not recorded


def mix(chunks: list[bytes]) -> bytes:
    """Sum 20 ms chunks of s16 mono audio, clipped to the 16-bit range."""
    if not chunks:
        return SILENCE
    if len(chunks) == 1:
        return chunks[0]
    total = [0] * TICK_SAMPLES
    for chunk in chunks:
        for i, sample in enumerate(array("h", chunk)):
            total[i] += sample
    return array("h", [-32768 if s < -32768 else 32767 if s > 32767 else s
                       for s in total]).tobytes()


class CallRecorder:
    """One call's recording: ``add`` a side's track (again after a reconnect), then
    ``finish`` to get the stored file's name, size and duration."""

    def __init__(self, key: str, directory: Path, data_keys: str) -> None:
        self.key = key
        self.directory = directory
        self.data_keys = data_keys
        self.queues: dict[str, deque[bytes]] = {}
        self.pullers: dict[str, asyncio.Task[None]] = {}
        self.buffer = io.BytesIO()
        self.container = av.open(self.buffer, "w", format="ogg")
        self.stream = self.container.add_stream("libopus", rate=RATE, layout="mono")
        self.stream.bit_rate = BITRATE
        self.ticks = 0
        self.mixer = asyncio.create_task(self._mix())

    def add(self, side: str, track: MediaStreamTrack) -> None:
        """Record ``track`` as ``side``'s microphone (replacing an earlier one)."""
        old = self.pullers.pop(side, None)
        if old is not None:
            old.cancel()
        self.queues.setdefault(side, deque(maxlen=MAX_QUEUED_TICKS))
        self.pullers[side] = asyncio.create_task(self._pull(side, track))

    async def _pull(self, side: str, track: MediaStreamTrack) -> None:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        pending = bytearray()
        queue = self.queues[side]
        while True:
            try:
                # An audio track's frames (aiortc types what any track yields).
                frame = cast(av.AudioFrame, await track.recv())
            except MediaStreamError:
                return
            for out in resampler.resample(frame):
                pending += bytes(out.planes[0])[:out.samples * 2]
            while len(pending) >= TICK_BYTES:
                queue.append(bytes(pending[:TICK_BYTES]))
                del pending[:TICK_BYTES]

    async def _mix(self) -> None:
        """Every 20 ms, one mixed frame of what each side sent (silence for a side with
        nothing queued), from the moment audio arrives; after IDLE_SECONDS with nothing
        from either side it pauses (both pages gone) until audio comes again."""
        loop = asyncio.get_running_loop()
        started = None
        heard = loop.time()
        while True:
            if started is None:
                await asyncio.sleep(0.02)
                if not any(self.queues.values()):
                    continue
                started, n, heard = loop.time(), 0, loop.time()
            n += 1
            delay = started + n * 0.02 - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            chunks = [q.popleft() for q in self.queues.values() if q]
            if chunks:
                heard = loop.time()
            elif loop.time() - heard > IDLE_SECONDS:
                started = None  # nobody sends: record nothing until someone does
                continue
            self._encode(mix(chunks))

    def _encode(self, pcm: bytes) -> None:
        frame = av.AudioFrame(format="s16", layout="mono", samples=TICK_SAMPLES)
        frame.planes[0].update(pcm)
        frame.sample_rate = RATE
        frame.pts = self.ticks * TICK_SAMPLES
        self.ticks += 1
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    async def finish(self) -> dict[str, Any] | None:
        """Stop, encrypt and store; returns ``{file, size, duration}`` (seconds), or None
        when no audio ever arrived (nothing is stored: the recording failed)."""
        for task in [self.mixer, *self.pullers.values()]:
            task.cancel()
        for task in [self.mixer, *self.pullers.values()]:
            try:
                await task
            except (asyncio.CancelledError, Exception):  # noqa: S110 (stopping anyway)
                pass
        if self.ticks == 0:
            log.warning("recording %s: no audio arrived; nothing stored", self.key)
            return None
        for packet in self.stream.encode(None):
            self.container.mux(packet)
        self.container.close()
        fernet = MultiFernet([Fernet(k.strip().encode())
                              for k in self.data_keys.split(",") if k.strip()])
        token = fernet.encrypt(self.buffer.getvalue())
        self.buffer = io.BytesIO()
        name = secrets.token_hex(16) + ".ogg.enc"
        self.directory.mkdir(parents=True, exist_ok=True)
        partial = self.directory / (name + ".part")
        partial.write_bytes(token)
        os.replace(partial, self.directory / name)  # complete or absent
        duration = self.ticks * TICK_SAMPLES // RATE
        log.info("recording %s stored: %d bytes, %d s", self.key, len(token), duration)
        return {"file": name, "size": len(token), "duration": duration}


class Recordings:
    """The worker's recordings in progress, by the app's key (the call id); each side's
    ``record`` session feeds its microphone into that call's recorder."""

    def __init__(self, directory: Path, data_keys: str) -> None:
        self.directory = directory
        self.data_keys = data_keys
        self.live: dict[str, CallRecorder] = {}

    def attach(self, session: Any) -> None:
        """Record the audio ``session`` receives as ``params.side`` of ``params.recording``.
        Raises ValueError on params the app would never send."""
        key, side = session.params.get("recording"), session.params.get("side")
        if not isinstance(key, str) or not key.isdigit() or len(key) > 12 or side not in (
                "patient", "doctor"):
            raise ValueError("a record session needs params {recording, side}")
        if not self.data_keys:
            raise ValueError("this worker has no DATA_KEYS: it cannot store recordings")
        recorder = self.live.get(key)
        if recorder is None:
            recorder = self.live[key] = CallRecorder(key, self.directory, self.data_keys)

        @session.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "audio":
                recorder.add(side, track)

    async def finish(self, key: str) -> dict[str, Any] | None:
        """Store the call's recording; None when this worker has none by that key."""
        recorder = self.live.pop(key, None)
        return await recorder.finish() if recorder is not None else None
