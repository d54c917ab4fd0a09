"""Benchmark of the consultation chat (issue 4): latency, throughput, CPU and memory of
the Socket.IO chat under gunicorn's gevent worker, against a bare relay in the same run.

What it does, against a fresh database it creates and drops itself (``--db``):

1. **Data.** ``--consultations N`` active consultations, each with its own patient
   (activated policy, insured person) and its own on-duty doctor (TOTP enabled), are
   inserted directly with SQLAlchemy (``flask db upgrade`` builds the schema first).
   Every user gets a server-side session row and the signed Flask session cookie
   that goes with it, as after a sign-in; the sockets authenticate with that cookie.
2. **Two servers, one after the other, with the same client load:**

   * ``echo``: ``bench/chat_echo.py``, a bare python-socketio relay (rooms, ``join``,
     ``send`` answered and emitted to the room) with no database and no auth: the
     baseline;
   * ``app``: the application (``wsgi:app``), which checks the session, stores each
     message encrypted in its own transaction and emits it after the commit.

   Both run as ``gunicorn -k gevent -w 1 --worker-connections 5000`` (the gevent
   worker monkey-patches, so the app picks ``async_mode="gevent"``; websockets go
   through simple-websocket). With ``--processes 2`` two such servers run, with the
   Redis message queue (``redis://127.0.0.1:6379/9``, a channel unique to the run):
   every patient socket goes to the first, every doctor socket to the second, so every
   message crosses processes.
3. **Per server:** a short warm-up (a few pairs connect, chat, leave), then the RSS of
   the worker(s) with no connection; then all ``2N`` sockets connect (websocket only,
   the session cookie) and join their consultation; after a few idle seconds the RSS
   again: (RSS with 2N idle sockets − RSS with none) ÷ 2N is the memory per idle
   connection. Then ``--warmup`` seconds of chat (not counted) and ``--duration``
   seconds counted, at ``--rate`` messages per second in total: Poisson arrivals,
   each to a consultation in turn, patient and doctor alternating; an open loop (the
   next message does not wait for the previous one). A message's latency is from just
   before the client writes ``send`` to when the *other* participant's socket reads
   the ``message`` event. The worker's CPU (utime + stime from /proc) and the
   client's are measured over the counted window. Then the client waits up to 15 s
   for messages still in flight, disconnects, and (app) compares the rows in
   ``chat_message`` with the messages sent.

The load generator is this process: one asyncio loop with aiohttp websockets and a
minimal Engine.IO 4 / Socket.IO 5 client (open, connect, ping/pong, events with
acknowledgements), much cheaper per message than python-socketio's AsyncClient, so the
2N sockets fit in one process that is not the bottleneck; its CPU and its scheduling
lag (how late it wrote messages against the Poisson schedule) are reported. It runs
on the same 2-core machine as the server(s) and takes its share of the CPU.

Run it by hand from the repository root (CI does not run it)::

    .venv/bin/python bench/chat.py                    # smoke: 20 consultations, ~40 s
    .venv/bin/python bench/chat.py --db postgres --consultations 1000 --rate 300 \\
        --duration 60 --processes 2 --write

``--db postgres`` creates a uniquely named database on ``--pg-url`` (trust auth) and
drops it at the end. Only 127.0.0.1 is contacted. Every phase is bounded in time.
The exit status is 1 when a message was refused, lost or not stored, or a server
logged a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import json
import logging
import math
import os
import random
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, bench/ comes first on sys.path and bench/activation.py would shadow
# the app's ``activation`` package; the app's own code is imported from ROOT.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
from bench._common import (  # noqa: E402
    free_port,
    fresh_database,
    log,
    machine,
    stop_group,
    tracebacks,
)

BIN = ROOT / ".venv" / "bin" if (ROOT / ".venv" / "bin" / "gunicorn").exists() \
    else Path(sys.executable).parent
DOC = ROOT / "docs" / "performance.md"
SECRET_KEY = "bench-secret-key-not-for-production-0123456789"  # noqa: S105 (fixed on purpose)
CODE_KEY = "bench-activation-code-key-0123456789"
DATA_KEY = "YmVuY2gtZGF0YS1rZXktbm90LWZvci1wcm9kdWN0aW8="  # a Fernet key for the run
DOCUMENT_KEY = "bench:YmVuY2gtZG9jdW1lbnQta2V5LW5vdC1mb3ItcHJvZCE"  # AES-256 for the run
REDIS_URL = "redis://127.0.0.1:6379/9"
ZONE = ZoneInfo("Asia/Almaty")
APP_ENV = ("DATABASE_URL", "SECRET_KEY", "BASE_URL", "TIMEZONE", "MAIL_SERVER", "MAIL_PORT",
           "MAIL_USE_TLS", "MAIL_USE_SSL", "MAIL_USERNAME", "MAIL_PASSWORD",
           "MAIL_DEFAULT_SENDER", "REDIS_URL", "ACTIVATION_CODE_KEY", "PROXY_FIX_X_FOR",
           "INSURER_NAME", "CONTACT_CENTRE_PHONE", "SELF_PAY_PRICE_KZT",
           "RATELIMIT_ACTIVATION", "RATELIMIT_LOGIN", "INSTANCE_PATH", "FLASK_APP",
           "DATA_KEYS", "DOCUMENT_KEYS", "SOCKETIO_MESSAGE_QUEUE", "SOCKETIO_CHANNEL",
           "CONSULT_MAX_CHATS_PER_DOCTOR", "PAYMENT_PROVIDER", "ECHO_MESSAGE_QUEUE",
           "ECHO_CHANNEL")
TARGET_P99_MS = 100.0
TARGET_KB_PER_CONN = 50.0
TARGET_RATE = 300.0
TARGET_CONSULTATIONS = 1000
CONNECT_CONCURRENCY = 25
DRAIN_SECONDS = 15.0
IDLE_SECONDS = 5.0
WARM_PAIRS = 10
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


# --------------------------------------------------------------------------- database


def base_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in APP_ENV}
    env.update({"INSTANCE_PATH": str(tmp / "instance"), "PYTHONUNBUFFERED": "1"})
    return env


def app_env(database_url: str, tmp: Path) -> dict[str, str]:
    env = base_env(tmp)
    env.update({
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "ACTIVATION_CODE_KEY": CODE_KEY,
        "DATA_KEYS": DATA_KEY,
        "DOCUMENT_KEYS": DOCUMENT_KEY,
    })
    return env


@dataclass(frozen=True)
class Pair:
    consultation: int
    patient_cookie: str
    doctor_cookie: str


def seed(env: dict[str, str], n: int) -> tuple[list[Pair], Any]:
    """Insert ``n`` active consultations with their people and signed-in sessions;
    return them with the app built in this process (for counting rows later)."""
    for key in APP_ENV:
        os.environ.pop(key, None)
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "SECRET_KEY", "ACTIVATION_CODE_KEY",
                                           "DATA_KEYS", "DOCUMENT_KEYS", "INSTANCE_PATH")})
    from accounts.models import User, UserSession
    from activation.models import Activation, Insured, Policy
    from consult.models import Consultation
    from core import clock
    from core.app import create_app
    from core.crypto import digest, encrypt, lookup_hash
    from core.extensions import db

    app = create_app()
    logging.getLogger().setLevel(logging.WARNING)  # create_app sets INFO for everything
    t0 = time.perf_counter()
    with app.app_context():
        now = clock.now()
        today = clock.today()
        iin = encrypt("871008401427")
        complaint = encrypt("Температура 38,2 со вчерашнего дня, болит голова.")
        patients = [User(email=f"chat-p{i}@example.kz", role="patient",
                         product_line="personal_doctor", full_name=f"Пациентова Анна {i}",
                         language="ru", created_at=now) for i in range(n)]
        doctors = [User(email=f"chat-d{i}@example.kz", role="doctor", full_name=f"Врач {i}",
                        language="ru", created_at=now, on_duty_doctor=True, totp_enabled=True)
                   for i in range(n)]
        policies = [Policy(number=f"CHAT-{i:07d}", product="personal_doctor",
                           code_hash="0" * 64, imported_at=now, failed_attempts=0,
                           activated_at=now) for i in range(n)]
        db.session.add_all(patients + doctors + policies)
        db.session.flush()
        insured = [Insured(account_id=p.id, iin_hash=lookup_hash(f"chat-{i}", "iin"),
                           iin_encrypted=iin, full_name=p.full_name,
                           birth_date=date(1987, 10, 8), sex="female")
                   for i, p in enumerate(patients)]
        db.session.add_all(insured)
        db.session.flush()
        activations = [Activation(policy_id=pol.id, insured_id=ins.id, account_id=ins.account_id,
                                  product="personal_doctor", activated_at=now, activated_on=today,
                                  coverage_starts_on=today - timedelta(days=30),
                                  coverage_ends_on=today + timedelta(days=335),
                                  consent_version="2026-11-01", consent_given_at=now,
                                  client_ip="127.0.0.1", locale="ru")
                       for pol, ins in zip(policies, insured, strict=True)]
        db.session.add_all(activations)
        db.session.flush()
        consultations = [
            Consultation(patient_id=a.account_id, insured_id=a.insured_id, activation_id=a.id,
                         doctor_id=d.id, product="personal_doctor", channel="chat",
                         language="ru", complaint_encrypted=complaint, status="active",
                         coverage="covered", price_amount=0, currency="KZT",
                         payment_status="not_required", requested_at=now - timedelta(minutes=5),
                         taken_at=now - timedelta(minutes=1))
            for a, d in zip(activations, doctors, strict=True)]
        db.session.add_all(consultations)
        tokens: dict[int, str] = {}
        for user in patients + doctors:
            tokens[user.id] = secrets.token_urlsafe(32)
            db.session.add(UserSession(user_id=user.id, token_hash=digest(tokens[user.id]),
                                       created_at=now, last_seen_at=now, ip="127.0.0.1",
                                       user_agent="bench/chat.py"))
        db.session.flush()
        serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
        name = app.config["SESSION_COOKIE_NAME"]

        def cookie(user_id: int) -> str:
            value = serializer.dumps({"sid": tokens[user_id], "_user_id": str(user_id),
                                      "_fresh": True, "_permanent": True})
            return f"{name}={value}"

        pairs = [Pair(c.id, cookie(c.patient_id), cookie(c.doctor_id))  # type: ignore[arg-type]
                 for c in consultations]
        db.session.commit()
        db.engine.dispose()
    log(f"seeded {n} consultations ({6 * n} rows + {2 * n} sessions) in "
        f"{time.perf_counter() - t0:.1f}s")
    return pairs, app


def refresh_sessions(app: Any) -> None:
    """Mark every session as just used (the doctors' idle limit is 15 minutes)."""
    from sqlalchemy import update

    from accounts.models import UserSession
    from core import clock
    from core.extensions import db

    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(update(UserSession).values(last_seen_at=clock.now()))
        db.engine.dispose()


def count_messages(app: Any) -> int:
    from sqlalchemy import func, select

    from consult.models import ChatMessage
    from core.extensions import db

    with app.app_context():
        with db.engine.connect() as conn:
            count = conn.execute(select(func.count()).select_from(ChatMessage)).scalar_one()
        db.engine.dispose()
    return int(count)


# --------------------------------------------------------------------------- servers


def gunicorn_cmd(kind: str, port: int, gc_log: bool = False) -> list[str]:
    # --no-control-socket: gunicorn >= 24 otherwise listens on ~/.gunicorn/gunicorn.ctl,
    # shared with any other gunicorn of the same user.
    out = subprocess.run([str(BIN / "gunicorn"), "--help"], capture_output=True, text=True,
                         timeout=60, check=False).stdout
    extra = ["--no-control-socket"] if "--no-control-socket" in out else []
    target = ["--pythonpath", "bench", "chat_echo:app"] if kind == "echo" else ["wsgi:app"]
    if gc_log:
        extra += ["-c", "bench/chat_gunicorn.py"]
    return [str(BIN / "gunicorn"), "-k", "gevent", "-w", "1", "--worker-connections", "5000",
            "--graceful-timeout", "5", "-b", f"127.0.0.1:{port}", *extra, *target]


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        return [int(x) for x in text.split()]
    except OSError:
        out = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    out.append(int(stat.parent.name))
        return out


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def named_cpu(names: tuple[str, ...]) -> float:
    """CPU seconds of every process on the machine whose name is in ``names``."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            text = stat.read_text()
            comm = text[text.index("(") + 1:text.rindex(")")]
            if comm in names:
                fields = text.rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / TICK
    return total


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    worker: int
    err_path: Path


@contextlib.contextmanager
def running_servers(kind: str, count: int, env: dict[str, str], logs: Path,
                    tag: str, gc_log: bool = False) -> Iterator[list[Server]]:
    """Start ``count`` gunicorn servers of ``kind``; yield them once each answers
    ``/api/v1/ping``; always stop them (their process group)."""
    import requests

    servers: list[Server] = []
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for i in range(count):
            port = free_port()
            name = f"{tag}-{kind}-{i}"
            err_path = logs / f"{name}.stderr"
            with open(logs / f"{name}.stdout", "wb") as out, open(err_path, "wb") as err:
                proc = subprocess.Popen(gunicorn_cmd(kind, port, gc_log), cwd=ROOT, env=env,
                                        stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                        start_new_session=True)
            procs.append(proc)
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}:\n"
                                       f"{err_path.read_text(errors='replace')[-3000:]}")
                with contextlib.suppress(requests.RequestException):
                    if requests.get(f"http://127.0.0.1:{port}/api/v1/ping", timeout=2).ok:
                        kids = children(proc.pid)
                        if len(kids) == 1:
                            servers.append(Server(name, proc, port, kids[0], err_path))
                            break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not answer /api/v1/ping within 60 s")
                time.sleep(0.2)
            log(f"{name} is up on 127.0.0.1:{port} (master {proc.pid}, worker "
                f"{servers[-1].worker})")
        yield servers
    finally:
        for proc in procs:  # all asked to stop first, then waited for
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            stop_group(proc)


# --------------------------------------------------------------------------- client


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


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile, in milliseconds."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1] * 1000


class Sock:
    """One Socket.IO connection over a websocket (Engine.IO 4, Socket.IO 5, namespace /)."""

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
        import aiohttp

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
        import aiohttp

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
                i = 2
                while data[i].isdigit():
                    i += 1
                fut = self.acks.pop(int(data[2:i]), None)
                if fut is not None and not fut.done():
                    args = loads(data[i:])
                    fut.set_result(args[0] if args else None)
            elif data.startswith("41") or data == "1":
                break
        if not self.closing:
            self.stats.disconnects += 1
            self.stats.note(f"{self.side} socket of consultation {self.consultation} "
                            "disconnected by the server")
        for fut in self.acks.values():
            if not fut.done():
                fut.set_exception(SocketError("disconnected"))

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


async def chat(convs: list[Conversation], rate: float, seconds: float, stats: Stats,
               tag: str, timed: bool, rng: random.Random) -> set[asyncio.Task[None]]:
    """Send messages for ``seconds`` at ``rate`` per second (Poisson arrivals) without
    waiting for answers; each goes to the next consultation in a shuffled order."""
    order = list(range(len(convs)))
    rng.shuffle(order)
    tasks: set[asyncio.Task[None]] = set()
    loop = asyncio.get_running_loop()
    start = loop.time()
    due = start
    end = start + seconds

    async def send(sock: Sock, other: Sock, client_id: str, body: str, lag: float) -> None:
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
        task = asyncio.create_task(send(sock, other, client_id, rng.choice(BODIES),
                                        loop.time() - due))
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


@dataclass
class Figures:
    server: str  # echo | app
    processes: int
    stats: Stats
    connections: int = 0
    connect_seconds: float = 0.0
    rss0_kb: int = 0
    rss1_kb: int = 0
    rss_end_kb: int = 0
    seconds: float = 0.0
    server_cpu: float = 0.0  # seconds, all workers
    client_cpu: float = 0.0
    db_cpu: float = 0.0  # postgres / redis-server processes on the machine
    stored: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def kb_per_conn(self) -> float:
        return (self.rss1_kb - self.rss0_kb) / self.connections if self.connections else math.nan


async def measure(kind: str, servers: list[Server], pairs: list[Pair], args: argparse.Namespace,
                  tag: str) -> Figures:
    import aiohttp

    stats = Stats()
    fig = Figures(kind, len(servers), stats)
    rng = random.Random(f"{args.seed}-{tag}")
    ws = [f"ws://127.0.0.1:{s.port}/socket.io/?EIO=4&transport=websocket" for s in servers]
    urls = (ws[0], ws[-1])  # patients to the first process, doctors to the last
    workers = [s.worker for s in servers]
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with aiohttp.ClientSession(connector=connector,
                                     cookie_jar=aiohttp.DummyCookieJar()) as session:
        # Warm-up: the first connections and messages import and initialise what is lazy.
        warm = await open_conversations(session, pairs[:min(WARM_PAIRS, len(pairs))], urls,
                                        stats)
        await asyncio.gather(*await chat(warm, max(5.0, len(warm) / 2), 2.0, stats,
                                         f"{tag}w", False, rng))
        await drain(stats, DRAIN_SECONDS)
        await close_all(warm)
        await asyncio.sleep(2.0)
        fig.rss0_kb = sum(rss_kb(w) for w in workers)

        t0 = time.perf_counter()
        convs = await open_conversations(session, pairs, urls, stats)
        fig.connect_seconds = time.perf_counter() - t0
        fig.connections = 2 * len(convs)
        log(f"{kind}: {fig.connections} sockets connected and joined in "
            f"{fig.connect_seconds:.1f}s")
        # The client's own garbage collector must not stall its loop (2N sockets' objects
        # in the oldest generation): move what exists now out of its reach.
        gc.collect()
        gc.freeze()
        await asyncio.sleep(IDLE_SECONDS)
        fig.rss1_kb = sum(rss_kb(w) for w in workers)
        log(f"{kind}: RSS {fig.rss0_kb / 1024:.1f} MiB with no connection, "
            f"{fig.rss1_kb / 1024:.1f} MiB with {fig.connections} idle: "
            f"{fig.kb_per_conn:.1f} KiB per connection")
        try:
            if args.warmup > 0:
                await asyncio.gather(*await chat(convs, args.rate, args.warmup, stats,
                                                 f"{tag}u", False, rng))
            monitor = asyncio.create_task(watch_loop(stats))
            cpu0 = sum(cpu_seconds(w) for w in workers)
            other0 = named_cpu(("postgres", "redis-server"))
            c0, w0 = time.process_time(), time.perf_counter()
            sends = await chat(convs, args.rate, args.duration, stats, tag, True, rng)
            fig.seconds = time.perf_counter() - w0
            fig.client_cpu = time.process_time() - c0
            fig.server_cpu = sum(cpu_seconds(w) for w in workers) - cpu0
            fig.db_cpu = named_cpu(("postgres", "redis-server")) - other0
            monitor.cancel()
            await drain(stats, DRAIN_SECONDS)
            await asyncio.gather(*sends)
            fig.rss_end_kb = sum(rss_kb(w) for w in workers)
        finally:
            await close_all(convs)
            gc.unfreeze()
    return fig


# --------------------------------------------------------------------------- run


def run_server(kind: str, env: dict[str, str], pairs: list[Pair], args: argparse.Namespace,
               tmp: Path, app: Any) -> Figures:
    tag = f"{kind[0]}{args.processes}{secrets.token_hex(2)}"
    env = dict(env)
    if args.processes == 2:
        channel = f"pd-bench-chat-{os.getpid()}-{secrets.token_hex(4)}"
        key = "ECHO" if kind == "echo" else "SOCKETIO"
        env[f"{key}_MESSAGE_QUEUE"] = REDIS_URL
        env[f"{key}_CHANNEL"] = channel
    before = count_messages(app) if kind == "app" else 0
    if kind == "app":
        refresh_sessions(app)
    with running_servers(kind, args.processes, env, tmp, tag, args.gc_log) as servers:
        fig = asyncio.run(measure(kind, servers, pairs, args, tag))
    for s in servers:
        if args.gc_log:
            pauses = [int(m.group(2)) for m in re.finditer(
                r"gc gen(\d) (\d+) ms", s.err_path.read_text(errors="replace"))]
            log(f"  {s.name}: {len(pauses)} garbage collections over 20 ms during the run, "
                f"longest {max(pauses, default=0)} ms, total {sum(pauses)} ms")
        for tb in tracebacks(s.err_path):
            fig.problems.append(f"{s.name} stderr:\n{tb}")
    if kind == "app":
        fig.stored = count_messages(app) - before
    st = fig.stats
    log(f"{kind:4} x{args.processes}: sent {st.timed_sent} in {fig.seconds:.1f}s "
        f"({st.timed_sent / fig.seconds:.1f}/s), delivered {st.timed_delivered}, lost "
        f"{st.lost}, refused {st.refused}; p50 {pct(st.latencies, 50):.1f} ms, p99 "
        f"{pct(st.latencies, 99):.1f} ms; server CPU {100 * fig.server_cpu / fig.seconds:.0f}%"
        f", client CPU {100 * fig.client_cpu / fig.seconds:.0f}%"
        + (f"; stored {fig.stored} of {st.attempted} sent ({st.acked_ok} acked)"
           if fig.stored is not None else ""))
    for sample in st.samples:
        log(f"  sample: {sample}")
    log(f"  client loop stalls over 20 ms: {len(st.stalls)}, longest "
        f"{1000 * max(st.stalls, default=0):.0f} ms")
    log(f"  {kind} worst latency per 5 s of the counted window (ms): " + worst_per(st, 5.0))
    return fig


def worst_per(st: Stats, step: float) -> str:
    if not st.timeline:
        return "-"
    t0 = min(t for t, _ in st.timeline)
    worst: dict[int, float] = {}
    for t, lat in st.timeline:
        k = int((t - t0) // step)
        worst[k] = max(worst.get(k, 0.0), lat)
    return " ".join(f"{1000 * worst[k]:.0f}" for k in sorted(worst))


def package_versions() -> str:
    from importlib.metadata import version

    names = ("gunicorn", "gevent", "flask-socketio", "python-socketio", "python-engineio",
             "simple-websocket", "aiohttp")
    return ", ".join(f"{n} {version(n)}" for n in names)


def ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}×" if b > 0 and not math.isnan(a) and not math.isnan(b) else "—"


def render(figs: list[Figures], info: dict[str, str], db_desc: str, command: str,
           args: argparse.Namespace, when: str) -> str:
    n = args.consultations
    servers = "two servers" if args.processes == 2 else "one server"
    lines = [
        f"Run {when} with `{command}`.",
        "",
        f"Machine: {info['nproc']} CPU(s) ({info['cpu']}), Python {info['python']}, "
        f"{db_desc}; {package_versions()}; load average {info['load']} at the start, "
        f"{info['load_end']} at the end.",
        f"Load: {n} active consultations, {2 * n} sockets (websocket transport), "
        f"{args.rate:g} messages/s in total (Poisson; {args.rate / n:.2f}/s per "
        f"consultation), {args.warmup:g} s warm-up then {args.duration:g} s counted; "
        f"{servers} `{shlex.join(gunicorn_cmd('app', 0)).replace(str(BIN) + '/', '.venv/bin/')}`"
        .replace("127.0.0.1:0", "127.0.0.1:PORT")
        + (" with the Redis message queue, patients on one, doctors on the other"
           if args.processes == 2 else "")
        + "; the baseline is `bench/chat_echo.py` under the same command (`--pythonpath "
          "bench chat_echo:app`). The client is one asyncio process on the same machine.",
        "",
        "| server | p50 ms | p99 ms | ack p99 ms | sent/s | delivered | server CPU | "
        "client CPU | KiB / idle conn. | RSS idle → end MiB | stored = sent |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    by = {f.server: f for f in figs}
    for f in figs:
        st = f.stats
        cpu = 100 * f.server_cpu / f.seconds if f.seconds else math.nan
        stored = "—" if f.stored is None else (
            f"{'yes' if f.stored == st.attempted == st.acked_ok else '**no**'}: "
            f"{f.stored:,} rows, {st.attempted:,} sent, {st.acked_ok:,} acked")
        lines.append(
            f"| {f.server} | {pct(st.latencies, 50):.1f} | {pct(st.latencies, 99):.1f} | "
            f"{pct(st.ack_latencies, 99):.1f} | {st.timed_sent / f.seconds:.1f} | "
            f"{st.timed_delivered:,} of {st.timed_sent:,} | {cpu:.0f} % | "
            f"{100 * f.client_cpu / f.seconds:.0f} % | {f.kb_per_conn:.1f} | "
            f"{f.rss1_kb / 1024:.0f} → {f.rss_end_kb / 1024:.0f} | {stored} |")
    echo, app = by.get("echo"), by.get("app")
    verdicts = []
    if echo and app:
        e, a = echo.stats, app.stats
        lines += ["", "App ÷ echo: p50 " + ratio(pct(a.latencies, 50), pct(e.latencies, 50))
                  + ", p99 " + ratio(pct(a.latencies, 99), pct(e.latencies, 99))
                  + ", server CPU per message "
                  + ratio(app.server_cpu / max(1, a.timed_sent),
                          echo.server_cpu / max(1, e.timed_sent))
                  + f" ({1000 * app.server_cpu / max(1, a.timed_sent):.2f} ms against "
                  f"{1000 * echo.server_cpu / max(1, e.timed_sent):.2f} ms), memory per idle "
                  "connection " + ratio(app.kb_per_conn, echo.kb_per_conn) + "."]
    for f in figs:
        st = f.stats
        lines.append("")
        lines.append(
            f"{f.server}: {f.connections:,} sockets connected and joined in "
            f"{f.connect_seconds:.1f} s; RSS {f.rss0_kb / 1024:.1f} MiB with none, "
            f"{f.rss1_kb / 1024:.1f} MiB with all idle; client scheduling lag p99 "
            f"{pct(st.lags, 99):.1f} ms; postgres and redis-server processes on the machine "
            f"{100 * f.db_cpu / f.seconds:.0f} % of a core during the counted window; "
            f"{st.refused} refused, {st.lost} lost, {st.disconnects} disconnected."
            + (" Samples: " + "; ".join(st.samples) if st.samples else ""))
    if app:
        st = app.stats
        p99 = pct(st.latencies, 99)
        rate = st.timed_sent / app.seconds
        stored_ok = app.stored == st.attempted == st.acked_ok and st.lost == 0
        full = n >= TARGET_CONSULTATIONS and args.rate >= TARGET_RATE
        load_note = "" if full else (f" (this run: {n} consultations at {args.rate:g}/s, "
                                     "smaller than the target's load)")
        if args.processes == 1:
            ok = p99 < TARGET_P99_MS and rate >= 0.98 * args.rate and stored_ok and full
            verdicts.append(
                f"{TARGET_CONSULTATIONS:,} consultations at {TARGET_RATE:g} messages/s in "
                f"one gevent process, p99 under {TARGET_P99_MS:g} ms, every message "
                f"stored{load_note}: p99 {p99:.1f} ms at {rate:.1f}/s, "
                f"{'all' if stored_ok else '**not all**'} stored: "
                + ("meets the target." if ok else "**misses the target.**"))
        kb = app.kb_per_conn
        verdicts.append(f"Memory per idle connection under {TARGET_KB_PER_CONN:g} KB: "
                        f"{kb:.1f} KiB ({kb * 1.024:.1f} kB): "
                        + ("meets the target." if kb * 1.024 < TARGET_KB_PER_CONN
                           else "**misses the target.**"))
    if verdicts:
        lines += ["", "Against the targets:", ""] + [f"- {v}" for v in verdicts]
    return "\n".join(lines) + "\n"


SECTION = """## Chat (issue 4)

`bench/chat.py` (see its docstring) opens a patient's and a doctor's socket for each
of N active consultations (websocket transport, signed in with a real server-side
session cookie) and has them chat at a fixed total rate (Poisson arrivals, patient and
doctor taking turns), against the app under gunicorn's gevent worker and, in the same
run with the same load, against `bench/chat_echo.py`, a bare python-socketio relay
(same gunicorn command, no database, no auth): the ratios between the two are what the
app's own work costs. Latency is end to end: from the sender writing `send` to the
other participant reading `message`. Server CPU is the gunicorn worker's (all workers
with two processes) CPU time over the counted window divided by its length (100 % =
one core); memory per idle connection is (worker RSS with all sockets connected and
joined, idle − RSS with none) ÷ sockets. The client (one asyncio process, a minimal
Socket.IO client on aiohttp) shares the 2 cores; its CPU is reported. Targets (one
gevent process, 2 cores): 1,000 concurrent consultations at 300 messages/s with p99
under 100 ms and every message stored (rows in `chat_message` = messages sent); under
50 KB per idle connection.
"""

ANALYSIS_HEADING = "### What limits the chat"


def write_doc(db: str, processes: int, consultations: int, rate: float, body: str) -> None:
    key = f"{db}:{processes}:{consultations}x{rate:g}"
    begin, end = f"<!-- bench:chat:{key}:begin -->", f"<!-- bench:chat:{key}:end -->"
    title = (f"{'SQLite' if db == 'sqlite' else 'PostgreSQL'}, "
             f"{'one process' if processes == 1 else 'two processes and Redis'}, "
             f"{consultations:,} consultations at {rate:g} messages/s")
    block = f"{begin}\n### {title}\n\n{body}{end}\n"
    text = DOC.read_text(encoding="utf-8")
    if "## Chat (issue 4)" not in text:
        text = text.rstrip("\n") + "\n\n" + SECTION
    start = text.index("## Chat (issue 4)")
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block.rstrip("\n") + rest.split(end, 1)[1]
    else:
        nxt = text.find("\n## ", start + 1)
        stop = len(text) if nxt < 0 else nxt + 1
        analysis = text.find(ANALYSIS_HEADING, start, stop)
        cut = analysis if analysis >= 0 else stop
        text = text[:cut].rstrip("\n") + "\n\n" + block + "\n" + text[cut:].lstrip("\n")
    DOC.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
    log(f"updated {DOC.relative_to(ROOT)}")


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--consultations", type=int, default=20,
                   help="concurrent consultations, two sockets each (default 20; the "
                        "target is 1000)")
    p.add_argument("--rate", type=float, default=20.0,
                   help="messages per second in total (default 20; the target is 300)")
    p.add_argument("--duration", type=float, default=10.0,
                   help="counted seconds of chat per server (default 10)")
    p.add_argument("--warmup", type=float, default=3.0,
                   help="seconds of chat at --rate before the counted window (default 3)")
    p.add_argument("--processes", type=int, choices=(1, 2), default=1,
                   help="gunicorn servers (2: with the Redis message queue)")
    p.add_argument("--servers", default="echo,app",
                   help="comma-separated subset of echo,app (default both)")
    p.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
                   help="maintenance database used to create and drop the bench database")
    p.add_argument("--gc-log", action="store_true",
                   help="have the workers log garbage collections over 20 ms "
                        "(bench/chat_gunicorn.py) and report them")
    p.add_argument("--seed", type=int, default=20261122)
    p.add_argument("--write", action="store_true", help="update docs/performance.md")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (logs, SQLite)")
    args = p.parse_args(argv)
    args.servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    if not args.servers or any(s not in ("echo", "app") for s in args.servers):
        p.error("--servers takes echo, app or both")
    if args.consultations < 1 or args.rate <= 0 or args.duration <= 0 or args.warmup < 0:
        p.error("--consultations, --rate and --duration must be positive")
    if args.duration > 600 or args.warmup > 120:
        p.error("--duration is at most 600 s and --warmup at most 120 s")
    if args.rate / args.consultations > 4:
        p.error("more than 4 messages/s per consultation would meet the app's per-socket "
                "limit (5/s, burst 20); raise --consultations or lower --rate")
    if urlsplit(args.pg_url).hostname not in ("127.0.0.1", "localhost"):
        p.error("--pg-url must point at 127.0.0.1")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    command = shlex.join([".venv/bin/python", "bench/chat.py", *argv])
    from core import clock

    when = clock.now().astimezone(ZONE).strftime("%Y-%m-%d %H:%M %Z")
    info = machine()
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="pd-bench-chat-"))
    (tmp / "instance").mkdir()
    figs: list[Figures] = []
    try:
        with fresh_database(args.db, tmp, args.pg_url, "pd_bench_chat") as (url, db_desc):
            env = app_env(url, tmp)
            t0 = time.perf_counter()
            proc = subprocess.run([str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
                                  cwd=ROOT, env=env, capture_output=True, text=True,
                                  timeout=180, check=False)
            if proc.returncode != 0:
                raise RuntimeError(f"flask db upgrade failed:\n{proc.stdout}\n{proc.stderr}")
            log(f"flask db upgrade: {time.perf_counter() - t0:.1f}s ({db_desc})")
            pairs, app = seed(env, args.consultations)
            for kind in args.servers:
                figs.append(run_server(kind, env if kind == "app" else base_env(tmp), pairs,
                                       args, tmp, app))
    finally:
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    info["load_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    body = render(figs, info, db_desc, command, args, when)
    print()
    print(body)
    problems = [p for f in figs for p in f.problems]
    for p in problems:
        print("TRACEBACK IN SERVER LOG\n" + p, file=sys.stderr)
    log(f"total {time.monotonic() - started:.0f}s")
    if args.write:
        write_doc(args.db, args.processes, args.consultations, args.rate, body)
    bad = any(f.stats.refused or f.stats.lost or f.stats.disconnects for f in figs) or any(
        f.stored is not None and f.stored != f.stats.attempted for f in figs)
    return 1 if problems or bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
