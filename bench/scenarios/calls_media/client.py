"""The load generator, a separate process (so the worker and it get a core each):
connection tests as the page makes them, or recorded calls' two audio senders."""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import time
import urllib.request
from typing import Any

import aioice.ice
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from consult.calls.media import probe


def _loopback_only() -> None:
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


def _post(args: argparse.Namespace, body: dict[str, Any]) -> dict[str, Any]:
    """``POST /offer`` to the worker; its answer."""
    request = urllib.request.Request(  # noqa: S310 (loopback worker)
        args.url + "/offer", data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {args.token}"})
    with urllib.request.urlopen(request, timeout=30) as r:  # noqa: S310
        return json.loads(r.read())


async def echo_tests(args: argparse.Namespace) -> dict[str, Any]:
    """``args.client`` connection tests at once, each an aiortc peer sending a moving
    picture and a tone to the worker's echo, offering directly to ``POST /offer``."""
    _loopback_only()

    async def offer_to_worker(offer: dict[str, str]) -> dict[str, Any]:
        body = {**offer, "session": f"bench-{secrets.token_hex(6)}", "kind": "echo"}
        return await asyncio.to_thread(_post, args, body)

    start = time.monotonic()
    results = await asyncio.gather(*(
        probe.run_echo(offer_to_worker, args.seconds, args.width, args.height, args.fps,
                       moving=True)
        for _ in range(args.client)))
    wall = time.monotonic() - start
    return {"video": [r.video_frames for r in results],
            "audio": [r.audio_frames for r in results],
            "connected": [r.connected_after for r in results], "wall": wall}


async def recorded_calls(args: argparse.Namespace) -> dict[str, Any]:
    """``args.client`` recorded calls: two peers each (patient and doctor) sending a
    tone to the worker as ``record`` sessions, as the two browsers of a call do."""
    _loopback_only()

    async def side(key: str, name: str) -> RTCPeerConnection:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.addTransceiver(probe.ToneAudio(), direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        answer = await asyncio.to_thread(_post, args, {
            "sdp": pc.localDescription.sdp, "type": "offer", "kind": "record",
            "session": f"rec-{key}-{name}", "params": {"recording": key, "side": name}})
        await pc.setRemoteDescription(RTCSessionDescription(**answer))
        return pc

    start = time.monotonic()
    pcs = await asyncio.gather(*(side(str(args.first + i), name)
                                 for i in range(args.client) for name in ("patient", "doctor")))
    await asyncio.sleep(args.seconds)
    connected = [pc.connectionState == "connected" for pc in pcs]
    for pc in pcs:
        await pc.close()
    return {"connected": connected, "wall": time.monotonic() - start}


def client_main(args: argparse.Namespace) -> None:
    """Run the load, print its figures (with this process's CPU) as a JSON line."""
    cpu0 = time.process_time()
    result = asyncio.run(recorded_calls(args) if args.record else echo_tests(args))
    result["cpu"] = time.process_time() - cpu0
    print(json.dumps(result), flush=True)
