"""The media worker and the connection test: a real worker process, a real aiortc peer
sending a recognisable picture and a tone through the web app, and getting them back."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterator
from typing import Any

import pytest

from consult.calls.media import client as media_client
from consult.calls.media.children import Child, stop_workers
from consult.calls.media.common import registry_prefix
from core.extensions import db
from tests.fixtures.accounts import sign_in
from tests.fixtures.media import TOKEN, launch, run_peer, worker_api

CANDIDATE = re.compile(r"^a=candidate:\S+ \d+ \S+ \d+ (\S+) \d+ typ (\S+)", re.MULTILINE)


def sessions_of(worker: Child) -> int:
    return worker_api(worker.url, "/health")[1]["sessions"]


@pytest.fixture(scope="module")
def worker() -> Iterator[Child]:
    child = launch()
    yield child
    stop_workers([child])


@pytest.fixture
def patient_client(app: Any, client: Any, worker: Child, activated_patient: Any) -> Any:
    """A signed-in patient, the app pointed at the worker; CSRF on, as in production."""
    app.config["MEDIA_WORKER_URLS"] = worker.url
    app.config["WTF_CSRF_ENABLED"] = False
    user, _ = activated_patient(client)
    assert sign_in(client, user).status_code == 302
    app.config["WTF_CSRF_ENABLED"] = True
    client.set_cookie("lang", "en")  # the messages below are checked in English
    return client


def csrf_of(client: Any) -> str:
    page = client.get("/consult/check")
    assert page.status_code == 200
    return re.search(r'data-csrf="([^"]+)"', page.get_data(as_text=True)).group(1)


def post_offer(client: Any, body: Any, token: str | None = None) -> Any:
    token = token or csrf_of(client)
    if isinstance(body, dict):
        return client.post("/consult/check/offer", json=body, headers={"X-CSRFToken": token})
    return client.post("/consult/check/offer", data=body, content_type="text/plain",
                       headers={"X-CSRFToken": token})


# --- the echo through the web app --------------------------------------------------------

def test_patient_gets_their_own_picture_and_sound_back_through_the_web_app(
        patient_client, worker, loopback_peer):
    from consult.calls.media import probe

    token = csrf_of(patient_client)

    async def through_web_app(offer: dict[str, str]) -> dict[str, Any]:
        r = await asyncio.to_thread(post_offer, patient_client, offer, token)
        assert r.status_code == 200, r.get_data(as_text=True)
        assert set(r.json) == {"sdp", "type"}
        return r.json

    result = run_peer(probe.run_echo(through_web_app, seconds=20, enough=(60, 50)))

    assert result.connected_after is not None
    assert result.video_frames >= 60, result
    assert result.sizes == {(320, 240)}
    left, right = probe.half_colours(result.last_video)
    assert probe.close_to(left, probe.LEFT), left
    assert probe.close_to(right, probe.RIGHT), right
    assert result.audio_frames >= 50
    assert result.loudest > 1000  # the tone, not silence


def test_the_answer_offers_only_the_configured_host_addresses(worker, loopback_peer):
    from consult.calls.media import probe

    async def direct(offer: dict[str, str]) -> dict[str, Any]:
        status, answer = await asyncio.to_thread(
            worker_api, worker.url, "/offer", {**offer, "session": "hosts-1", "kind": "echo"})
        assert status == 200, answer
        return answer

    result = run_peer(probe.run_echo(direct, seconds=0))
    candidates = CANDIDATE.findall(result.answer_sdp)
    assert candidates, result.answer_sdp
    assert {address for address, _ in candidates} == {"127.0.0.1"}
    assert {kind for _, kind in candidates} == {"host"}


# --- who may use it -----------------------------------------------------------------------

def test_anonymous_visitors_are_sent_to_sign_in(client, no_csrf):
    for r in (client.get("/consult/check"), client.post("/consult/check/offer", json={})):
        assert r.status_code == 302 and "/login" in r.headers["Location"]


@pytest.mark.parametrize("role", ["operator", "admin"])
def test_staff_other_than_doctors_are_refused(app, client, no_csrf, role, make_user):
    assert sign_in(client, make_user(role)).status_code == 302
    assert client.get("/consult/check").status_code == 403
    assert client.post("/consult/check/offer", json={}).status_code == 403


def test_a_doctor_may_run_the_check_and_its_page_carries_what_the_script_needs(
        app, client, no_csrf, worker, make_user):
    app.config["MEDIA_WORKER_URLS"] = worker.url
    assert sign_in(client, make_user("doctor")).status_code == 302
    page = client.get("/consult/check").get_data(as_text=True)
    assert 'data-state="ready"' in page
    assert 'data-ice-servers="[]"' in page
    for id_ in ("check-camera", "check-mic", "check-rtt", "check-loss", "check-bandwidth",
                "check-verdict"):
        assert f'id="{id_}"' in page
    assert "<script>" not in page  # CSP: no inline script


def test_the_request_page_links_to_the_check(app, client, no_csrf, activated_patient):
    user, _ = activated_patient(client)
    sign_in(client, user)
    assert "/consult/check" in client.get("/consult/new").get_data(as_text=True)


@pytest.mark.parametrize(("channel", "linked"), [("video", True), ("audio", True),
                                                 ("chat", False)])
def test_the_waiting_room_of_a_call_links_to_the_check(app, client, no_csrf, channel, linked,
                                                       activated_patient):
    from consult.duty.requests import ConsultationRequest, request_consultation

    user, insured = activated_patient(client)
    sign_in(client, user)
    c = request_consultation(
        user, ConsultationRequest(insured.id, "Cough", channel, True), "ru")
    db.session.commit()
    page = client.get(f"/consult/{c.id}").get_data(as_text=True)
    assert ('href="/consult/check"' in page) is linked


# --- refusals ------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "message"), [
    ("not json", "JSON"),
    ({"sdp": "v=0", "type": "answer"}, "offer"),
    ({"type": "offer"}, "offer"),
    ({"sdp": 5, "type": "offer"}, "offer"),
    ({"sdp": "v=0\r\n" + "a=x\r\n" * 5000, "type": "offer"}, "too large"),
])
def test_bad_bodies_are_refused_with_a_message_and_start_nothing(patient_client, worker,
                                                                 body, message):
    before = sessions_of(worker)
    r = post_offer(patient_client, body)
    assert r.status_code == 400
    assert message in r.json["error"]
    assert sessions_of(worker) == before


def test_an_offer_without_media_is_refused_by_the_worker(patient_client, worker):
    r = post_offer(patient_client, {"sdp": "v=0\r\ngarbage\r\n", "type": "offer"})
    assert r.status_code == 400
    assert r.json["error"] == "The offer could not be answered."


def test_the_offer_needs_the_csrf_token(patient_client, worker):
    before = sessions_of(worker)
    r = patient_client.post("/consult/check/offer", json={"sdp": "v=0", "type": "offer"})
    assert r.status_code == 400
    assert sessions_of(worker) == before


def test_offers_are_rate_limited_per_user(patient_client, worker):
    token = csrf_of(patient_client)
    codes = [post_offer(patient_client, {"type": "answer"}, token).status_code
             for _ in range(11)]
    assert codes == [400] * 10 + [429]


def test_a_busy_worker_answers_503_and_the_page_says_so(app, patient_client, loopback_peer):
    from consult.calls.media import probe

    busy = launch(MEDIA_MAX_SESSIONS=1)
    try:
        app.config["MEDIA_WORKER_URLS"] = busy.url

        async def hold(offer: dict[str, str]) -> dict[str, Any]:
            status, answer = await asyncio.to_thread(
                worker_api, busy.url, "/offer", {**offer, "session": "holder", "kind": "echo"})
            assert status == 200
            # While the only session is live, the web app's offer is refused.
            r = await asyncio.to_thread(post_offer, patient_client,
                                        {"sdp": offer["sdp"], "type": "offer"})
            assert r.status_code == 503
            assert "busy" in r.json["error"]
            return answer

        run_peer(probe.run_echo(hold, seconds=0))
    finally:
        stop_workers([busy])


def test_without_a_worker_the_check_is_unavailable(app, patient_client):
    app.config["MEDIA_WORKER_URLS"] = ""
    app.config["REDIS_URL"] = None
    page = patient_client.get("/consult/check").get_data(as_text=True)
    assert 'data-state="unavailable"' in page and 'id="check-unavailable"' in page
    r = post_offer(patient_client, {"sdp": "v=0\r\n", "type": "offer"})
    assert r.status_code == 503
    assert "unavailable" in r.json["error"]


def test_a_worker_that_does_not_answer_is_skipped(app, patient_client, worker, monkeypatch):
    from tests.fixtures.servers import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    app.config["MEDIA_WORKER_URLS"] = f"{dead},{worker.url}"
    monkeypatch.setattr(media_client.random, "randrange", lambda n: 0)
    assert media_client.candidate_urls(app.config)[0] == dead
    r = post_offer(patient_client, {"sdp": "v=0\r\ngarbage\r\n", "type": "offer"})
    assert r.status_code == 400  # the live worker read it (and refused it)
    assert r.json["error"] == "The offer could not be answered."


# --- the worker's own API --------------------------------------------------------------------

@pytest.mark.parametrize("token", [None, "wrong-token-wrong-token", TOKEN[:-1] + "0"])
def test_the_worker_api_refuses_requests_without_the_token(worker, token):
    if token == TOKEN:
        pytest.skip("the altered token happens to be the real one")
    before = sessions_of(worker)
    for path, body in (("/offer", {"sdp": "v=0", "type": "offer", "session": "x"}),
                       ("/health", None)):
        status, answer = worker_api(worker.url, path, body, token=token)
        assert status == 401, (path, answer)
    assert sessions_of(worker) == before


def test_the_worker_refuses_malformed_requests(worker):
    assert worker_api(worker.url, "/offer", b"{not json")[0] == 400
    assert worker_api(worker.url, "/offer", {"sdp": "v=0", "type": "offer",
                                             "session": "bad id!"})[0] == 400
    assert worker_api(worker.url, "/offer", {"sdp": "v=0", "type": "offer", "session": "s",
                                             "kind": "record"})[0] == 400


def test_a_worker_exits_when_its_parent_is_gone(tmp_path):
    """The parent is a shell that starts a worker (through children.start_workers) and
    is killed: the worker notices within seconds."""
    import signal
    import subprocess
    import sys
    import time

    script = (
        "import os, sys, time\n"
        "from consult.calls.media.children import start_workers\n"
        "[c] = start_workers({'SECRET_KEY': 'x' * 20, 'MEDIA_HOST_ADDRESSES': '127.0.0.1',"
        " 'REDIS_URL': ''}, 1)\n"
        "print(c.process.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                              cwd=os.getcwd())
    child_pid = int(parent.stdout.readline())
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(child_pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        os.kill(child_pid, signal.SIGKILL)
        pytest.fail("the worker outlived its parent")
    parent.stdout.close()


# --- several workers through Redis -------------------------------------------------------------

@pytest.fixture
def redis_url() -> Iterator[str]:
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("REDIS_URL is not set")
    import redis

    r = redis.Redis.from_url(url)
    prefix = registry_prefix(TOKEN)

    def clean() -> None:
        for key in r.scan_iter(match=prefix + "*"):
            r.delete(key)

    clean()
    yield url
    clean()


def test_with_redis_the_least_loaded_live_worker_is_picked(app, redis_url, loopback_peer):
    import time

    from consult.calls.media import probe

    workers = [launch(REDIS_URL=redis_url, MEDIA_MAX_SESSIONS=2) for _ in range(2)]
    try:
        app.config.update(REDIS_URL=redis_url, MEDIA_WORKER_URLS="")

        def registered() -> dict[str, int]:
            return {w["url"]: w["sessions"] for w in media_client.registered_workers(app.config)}

        deadline = time.monotonic() + 10
        while len(registered()) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert set(registered()) == {w.url for w in workers}
        assert media_client.available(app.config)

        async def load_first(offer: dict[str, str]) -> dict[str, Any]:
            status, answer = await asyncio.to_thread(
                worker_api, workers[0].url, "/offer",
                {**offer, "session": "load-1", "kind": "echo"})
            assert status == 200
            # The next heartbeat says the first worker holds a session: the other is
            # tried first.
            end = time.monotonic() + 8
            while registered().get(workers[0].url) != 1 and time.monotonic() < end:
                await asyncio.sleep(0.2)
            assert media_client.candidate_urls(app.config)[0] == workers[1].url
            return answer

        run_peer(probe.run_echo(load_first, seconds=0))

        # A stopped worker removes its registration: only the live one is left.
        stop_workers([workers[1]])
        assert set(registered()) == {workers[0].url}
        assert media_client.candidate_urls(app.config)[0] == workers[0].url
    finally:
        stop_workers(workers)


@pytest.mark.parametrize(("lang", "message"), [("ru", "Запрос на соединение слишком большой."),
                                               ("kk", "Қосылу сұрауы тым үлкен.")])
def test_refusals_are_in_the_patients_language(patient_client, worker, lang, message):
    patient_client.set_cookie("lang", lang)
    r = post_offer(patient_client, {"sdp": "v=0\r\n" + "a" * 30_000, "type": "offer"})
    assert r.status_code == 400 and r.json["error"] == message
