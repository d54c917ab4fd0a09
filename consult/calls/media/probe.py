"""A synthetic connection-test peer (aiortc) for the tests and the benchmark: it sends
a two-colour video pattern and a tone, and counts what the echo sends back.

Never imported by the web app (it imports aiortc).
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import math
import random
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast

import av
from aiortc import (
    AudioStreamTrack,
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError

LEFT = (220, 40, 160)  # magenta
RIGHT = (30, 200, 60)  # green
VIDEO_CLOCK = 90_000


class PatternVideo(MediaStreamTrack):
    """Frames whose left half is LEFT and right half RIGHT, at ``fps``. With ``moving``
    a grain like a camera sensor's scrolls across them, so every frame differs and the
    encoder works about as hard as with a camera (a still picture costs next to
    nothing to encode)."""

    kind = "video"

    def __init__(self, width: int = 320, height: int = 240, fps: float = 30,
                 moving: bool = False) -> None:
        super().__init__()
        self.width, self.height, self.fps, self.moving = width, height, fps, moving
        half = bytes(LEFT) * (width // 2) + bytes(RIGHT) * (width - width // 2)
        self._pixels = half * height
        self._rows: list[bytes] = []
        if moving:
            rng = random.Random(5)  # noqa: S311 (test picture)
            row = (bytes(LEFT) * (width // 2) + bytes(RIGHT) * (width - width // 2)) * 2
            for _ in range(height):
                self._rows.append(bytes(max(0, min(255, v + rng.randint(-24, 24)))
                                        for v in row))
        self._start: float | None = None
        self._count = 0

    def _picture(self) -> bytes:
        if not self.moving:
            return self._pixels
        shift = 3 * ((4 * self._count) % self.width)
        end = shift + 3 * self.width
        return b"".join(row[shift:end] for row in self._rows)

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.time()
        else:
            self._count += 1
            await asyncio.sleep(max(0.0, self._start + self._count / self.fps - time.time()))
        frame = av.VideoFrame(self.width, self.height, "rgb24")
        frame.planes[0].update(self._picture())
        frame.pts = int(self._count * VIDEO_CLOCK / self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        return frame


class ToneAudio(AudioStreamTrack):
    """A 400 Hz tone (aiortc's silent track, filled in)."""

    def __init__(self) -> None:
        super().__init__()
        period = [int(12_000 * math.sin(2 * math.pi * i / 20)) for i in range(20)]
        self._samples = struct.pack("<160h", *(period * 8))  # 20 ms at 8 kHz

    async def recv(self) -> av.AudioFrame:
        frame = cast(av.AudioFrame, await super().recv())  # aiortc types it as any Frame
        frame.planes[0].update(self._samples)
        return frame


def half_colours(frame: av.VideoFrame) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """The mean RGB of a patch in the middle of the left and of the right half."""
    rgb = frame.reformat(format="rgb24")
    plane = rgb.planes[0]
    data = bytes(plane)

    def patch(cx: int) -> tuple[int, int, int]:
        sums, n = [0, 0, 0], 0
        for y in range(rgb.height * 3 // 8, rgb.height * 5 // 8, 4):
            for x in range(cx - rgb.width // 16, cx + rgb.width // 16, 4):
                at = y * plane.line_size + 3 * x
                for c in range(3):
                    sums[c] += data[at + c]
                n += 1
        r, g, b = (s // n for s in sums)
        return (r, g, b)

    return patch(rgb.width // 4), patch(rgb.width * 3 // 4)


def close_to(colour: tuple[int, int, int], expected: tuple[int, int, int],
             tolerance: int = 40) -> bool:
    """True when every channel is within ``tolerance`` (codecs shift colours a little)."""
    return all(abs(a - b) <= tolerance for a, b in zip(colour, expected, strict=True))


def rms(frame: av.AudioFrame) -> float:
    """Root mean square of a decoded audio frame (aiortc decodes to packed s16)."""
    if frame.format.name != "s16":
        raise ValueError(f"expected s16 audio, got {frame.format.name}")
    data = bytes(frame.planes[0])
    count = len(data) // 2
    if not count:
        return 0.0
    samples = struct.unpack(f"<{count}h", data[: 2 * count])
    return math.sqrt(sum(s * s for s in samples) / count)


@dataclass
class EchoResult:
    """What came back from the worker."""

    answer_sdp: str = ""
    video_frames: int = 0
    audio_frames: int = 0
    loudest: float = 0.0
    last_video: av.VideoFrame | None = None
    sizes: set[tuple[int, int]] = field(default_factory=set)
    connected_after: float | None = None


async def _consume(track: MediaStreamTrack, result: EchoResult) -> None:
    with contextlib.suppress(MediaStreamError):
        while True:
            frame = await track.recv()  # decoded: a track of its kind's frames
            if track.kind == "video":
                video = cast(av.VideoFrame, frame)
                result.video_frames += 1
                result.last_video = video
                result.sizes.add((video.width, video.height))
            else:
                result.audio_frames += 1
                if result.audio_frames % 10 == 0:
                    result.loudest = max(result.loudest, rms(cast(av.AudioFrame, frame)))


async def run_echo(post_offer: Callable[[dict[str, str]], Awaitable[dict[str, Any]]],
                   seconds: float, width: int = 320, height: int = 240, fps: float = 30,
                   enough: tuple[int, int] | None = None, moving: bool = False) -> EchoResult:
    """Send a pattern and a tone to a worker through ``post_offer`` (which returns the
    answer) for ``seconds``, or until ``enough`` (video, audio) frames came back."""
    result = EchoResult()
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    consumers: list[asyncio.Task[None]] = []
    started = time.monotonic()

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        consumers.append(asyncio.create_task(_consume(track, result)))

    @pc.on("connectionstatechange")
    def on_state() -> None:
        if pc.connectionState == "connected" and result.connected_after is None:
            result.connected_after = time.monotonic() - started

    pc.addTrack(PatternVideo(width, height, fps, moving))
    pc.addTrack(ToneAudio())
    try:
        await pc.setLocalDescription(await pc.createOffer())  # gathers every candidate
        answer = await post_offer({"sdp": pc.localDescription.sdp, "type": "offer"})
        result.answer_sdp = answer["sdp"]
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"],
                                                            type=answer["type"]))
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if enough and result.video_frames >= enough[0] and result.audio_frames >= enough[1]:
                break
            await asyncio.sleep(0.1)
    finally:
        await pc.close()
        for task in consumers:
            task.cancel()
        await asyncio.gather(*consumers, return_exceptions=True)
    return result
