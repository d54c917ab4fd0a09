"""The chat load: both participants of every consultation connected and joined, then
messages at a fixed total rate (Poisson arrivals, an open loop), patient and doctor
taking turns; and the client's own scheduling watched."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from dataclasses import dataclass
from typing import Any

from bench.scenarios.chat.seed import Pair
from bench.scenarios.chat.sockets import Pending, Sock, SocketError, Stats

CONNECT_CONCURRENCY = 25
BODIES = (
    "Здравствуйте, доктор. Температура 38,2 со вчерашнего вечера, болит голова.",
    "Добрый день. Какие препараты вы принимали за последние сутки?",
    "Парацетамол 500 мг вчера вечером, сегодня утром ещё одну таблетку.",
    "Есть ли кашель, насморк, боль в горле? Были ли контакты с заболевшими?",
    "Небольшой кашель, сухой. Горло немного болит, насморка нет. Дочь болела на прошлой "
    "неделе, у неё было то же самое.",
    "Понятно. Пейте больше жидкости, измеряйте температуру каждые 4 часа. Если "
    "поднимется выше 39 или появится одышка, вызывайте скорую помощь (103).",
    "Спасибо. Можно ли ибупрофен вместо парацетамола?",
    "Да, можно, 400 мг не чаще раза в 6–8 часов, после еды. Не совмещайте с "
    "парацетамолом без необходимости. Я выпишу рекомендации в заключении.",
    "Хорошо, поняла.",
    "Если завтра не станет лучше, напишите, пожалуйста, ещё раз в этом чате.",
)


@dataclass
class Conversation:
    pair: Pair
    patient: Sock
    doctor: Sock


async def open_conversations(session: Any, pairs: list[Pair], urls: tuple[str, str],
                             stats: Stats) -> list[Conversation]:
    """Connect both participants of every pair and join their consultation."""
    sem = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(sock: Sock, url: str, cookie: str) -> None:
        async with sem:
            await sock.open(session, url, cookie)
            ack = await asyncio.wait_for(await sock.emit(
                "join", {"consultation": sock.consultation, "after": sock.last_id,
                         "side": sock.side}), 30)
            if not (isinstance(ack, dict) and ack.get("ok")):
                raise SocketError(f"join refused: {ack!r}")
            for m in ack.get("messages") or []:
                sock.last_id = max(sock.last_id, int(m["id"]))

    convs = [Conversation(p, Sock(stats, "patient", p.consultation),
                          Sock(stats, "doctor", p.consultation)) for p in pairs]
    jobs = []
    for c in convs:
        jobs.append(one(c.patient, urls[0], c.pair.patient_cookie))
        jobs.append(one(c.doctor, urls[1], c.pair.doctor_cookie))
    results = await asyncio.gather(*jobs, return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        await close_all(convs)
        raise SocketError(f"{len(failures)} of {len(jobs)} sockets failed to connect or "
                          f"join; first: {failures[0]!r}")
    return convs


async def close_all(convs: list[Conversation]) -> None:
    sem = asyncio.Semaphore(200)

    async def one(sock: Sock) -> None:
        async with sem:
            await sock.close()

    await asyncio.gather(*(one(s) for c in convs for s in (c.patient, c.doctor)))


async def _send(stats: Stats, sock: Sock, other: Sock, client_id: str, body: str, lag: float,
                timed: bool) -> None:
    """One message, without waiting for the other side; its acknowledgement counted."""
    t0 = time.perf_counter()
    stats.pending[client_id] = Pending(t0, other, timed)
    stats.attempted += 1
    if timed:
        stats.timed_sent += 1
        stats.lags.append(lag)
    try:
        fut = await sock.emit("send", {"consultation": sock.consultation,
                                       "client_id": client_id, "body": body})
        ack = await asyncio.wait_for(fut, 30)
    except (SocketError, TimeoutError, ConnectionError, RuntimeError) as exc:
        stats.refused += 1
        stats.note(f"send {client_id}: {type(exc).__name__}: {exc}")
        return
    if isinstance(ack, dict) and ack.get("ok"):
        stats.acked_ok += 1
        if timed:
            stats.ack_latencies.append(time.perf_counter() - t0)
    else:
        stats.refused += 1
        stats.pending.pop(client_id, None)
        stats.note(f"send {client_id} refused: {ack!r}")


async def chat(convs: list[Conversation], rate: float, seconds: float, stats: Stats,
               tag: str, timed: bool, rng: random.Random) -> set[asyncio.Task[None]]:
    """Send messages for ``seconds`` at ``rate`` per second (Poisson arrivals) without
    waiting for answers; each goes to the next consultation in a shuffled order."""
    order = list(range(len(convs)))
    rng.shuffle(order)
    tasks: set[asyncio.Task[None]] = set()
    loop = asyncio.get_running_loop()
    due = start = loop.time()
    end = start + seconds
    for k in itertools.count():
        due += rng.expovariate(rate)
        if due >= end:
            break
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        conv = convs[order[k % len(order)]]
        patient_turn = (k // len(order)) % 2 == 0
        sock, other = (conv.patient, conv.doctor) if patient_turn else (conv.doctor,
                                                                         conv.patient)
        client_id = f"{tag}-{'t' if timed else 'w'}-{k:07d}"
        task = asyncio.create_task(_send(stats, sock, other, client_id, rng.choice(BODIES),
                                         loop.time() - due, timed))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    return tasks


async def watch_loop(stats: Stats) -> None:
    """Note when this client's event loop was late by more than 20 ms (it would delay
    reading messages and inflate the latencies)."""
    last = time.perf_counter()
    while True:
        await asyncio.sleep(0.005)
        now = time.perf_counter()
        if now - last > 0.025:
            stats.stalls.append(now - last - 0.005)
        last = now


async def drain(stats: Stats, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while stats.pending and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    lost = [cid for cid, p in stats.pending.items() if p.timed]
    stats.lost += len(lost)
    for cid in lost[:3]:
        stats.note(f"message {cid} not received by the other participant within "
                   f"{seconds:.0f} s")
    stats.pending.clear()
