"""A minimal Socket.IO client on aiohttp websockets (Engine.IO 4, Socket.IO 5, namespace
/): open, connect, ping/pong, events with acknowledgements; much cheaper per message than
python-socketio's AsyncClient, so 2N sockets fit in one process that is not the
bottleneck. And what it saw."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp


class SocketError(RuntimeError):
    pass


@dataclass
class Pending:
    sent_at: float
    receiver: Sock
    timed: bool


@dataclass
class Stats:
    """What the client saw for one server."""

    latencies: list[float] = field(default_factory=list)  # timed, seconds
    timeline: list[tuple[float, float]] = field(default_factory=list)  # (sent, latency)
    ack_latencies: list[float] = field(default_factory=list)  # timed, seconds
    lags: list[float] = field(default_factory=list)  # timed: actual − scheduled send
    pending: dict[str, Pending] = field(default_factory=dict)
    attempted: int = 0  # every send, all phases
    acked_ok: int = 0  # every send answered ok, all phases
    refused: int = 0
    timed_sent: int = 0
    timed_delivered: int = 0
    lost: int = 0
    samples: list[str] = field(default_factory=list)
    disconnects: int = 0
    stalls: list[float] = field(default_factory=list)  # client loop gaps over 20 ms

    def note(self, text: str) -> None:
        if len(self.samples) < 5:
            self.samples.append(text)


class Sock:
    """One Socket.IO connection over a websocket."""

    def __init__(self, stats: Stats, side: str, consultation: int):
        self.stats = stats
        self.side = side
        self.consultation = consultation
        self.ws: Any = None
        self.acks: dict[int, asyncio.Future[Any]] = {}
        self.seq = itertools.count(1)
        self.reader: asyncio.Task[None] | None = None
        self.closing = False
        self.last_id = 0

    async def open(self, session: Any, url: str, cookie: str) -> None:
        self.ws = await session.ws_connect(url, headers={"Cookie": cookie}, autoping=True,
                                           heartbeat=None, compress=0, max_msg_size=0,
                                           timeout=aiohttp.ClientWSTimeout(ws_receive=None,
                                                                           ws_close=5))
        first = await asyncio.wait_for(self.ws.receive(), 30)
        if not (isinstance(first.data, str) and first.data.startswith("0")):
            raise SocketError(f"no Engine.IO open packet: {first!r}")
        await self.ws.send_str("40")
        reply = await asyncio.wait_for(self.ws.receive(), 30)
        if not (isinstance(reply.data, str) and reply.data.startswith("40")):
            raise SocketError(f"Socket.IO connect refused: {reply.data!r}")
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        loads = json.loads
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            data = msg.data
            if data == "2":
                await self.ws.send_str("3")
            elif data.startswith("42"):
                name, payload = loads(data[2:])
                if name == "message":
                    self._message(payload)
            elif data.startswith("43"):
                self._ack(data)
            elif data.startswith("41") or data == "1":
                break
        if not self.closing:
            self.stats.disconnects += 1
            self.stats.note(f"{self.side} socket of consultation {self.consultation} "
                            "disconnected by the server")
        for fut in self.acks.values():
            if not fut.done():
                fut.set_exception(SocketError("disconnected"))

    def _ack(self, data: str) -> None:
        i = 2
        while data[i].isdigit():
            i += 1
        fut = self.acks.pop(int(data[2:i]), None)
        if fut is not None and not fut.done():
            args = json.loads(data[i:])
            fut.set_result(args[0] if args else None)

    def _message(self, payload: dict[str, Any]) -> None:
        now = time.perf_counter()
        mid = payload.get("id")
        if isinstance(mid, int) and mid > self.last_id:
            self.last_id = mid
        entry = self.stats.pending.get(payload.get("client_id"))  # type: ignore[arg-type]
        if entry is None or entry.receiver is not self:
            return  # the sender's own copy, or a replayed one
        del self.stats.pending[payload["client_id"]]
        if entry.timed:
            self.stats.latencies.append(now - entry.sent_at)
            self.stats.timeline.append((entry.sent_at, now - entry.sent_at))
            self.stats.timed_delivered += 1

    async def emit(self, event: str, data: dict[str, Any]) -> asyncio.Future[Any]:
        """Write the event; return the future of its acknowledgement."""
        aid = next(self.seq)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.acks[aid] = fut
        await self.ws.send_str(f"42{aid}" + json.dumps([event, data], ensure_ascii=False,
                                                       separators=(",", ":")))
        return fut

    async def close(self) -> None:
        self.closing = True
        if self.ws is not None and not self.ws.closed:
            with contextlib.suppress(Exception):
                await self.ws.send_str("41")
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 5)
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(BaseException):
                await self.reader
