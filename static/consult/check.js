// The connection test: camera and microphone, then a WebRTC connection to our media
// worker, which sends the picture and sound back; getStats() every second gives the
// round-trip time, packet loss and bandwidth, and after a few seconds a verdict.
(function () {
  "use strict";
  var root = document.getElementById("check");
  if (!root) { return; }
  var t = JSON.parse(root.dataset.i18n);
  var iceServers = JSON.parse(root.dataset.iceServers);
  var seconds = Number(root.dataset.seconds) || 10;
  var startButton = document.getElementById("check-start");
  var statusEl = document.getElementById("check-status");
  var errorEl = document.getElementById("check-error");
  var mediaEl = document.getElementById("check-media");
  var localVideo = document.getElementById("check-local");
  var echoVideo = document.getElementById("check-echo");
  var meterRow = document.getElementById("check-meter-row");
  var meter = document.getElementById("check-meter");
  var verdictEl = document.getElementById("check-verdict");
  var out = {};
  ["camera", "mic", "rtt", "loss", "bandwidth"].forEach(function (name) {
    out[name] = document.getElementById("check-" + name);
  });
  var GATHER_MS = 3000;
  var CONNECT_MS = 10000;
  var MIC_HEARD = 0.25; // -45 dBFS: above a quiet room's noise, below speech
  // Chrome's bandwidth estimate only ramps up during the few seconds of the test, so it
  // is a lower bound: 250 kbit/s carries 640x480 video at 15 fps, 100 kbit/s audio and
  // a small picture.
  var GOOD_KBPS = 250, FAIR_KBPS = 100;
  var run = null; // the test in progress

  [localVideo, echoVideo].forEach(function (v) { v.style.maxWidth = "100%"; v.style.height = "auto"; });

  function fill(template, num) { return template.replace("{num}", String(num)); }
  function setState(state) { root.dataset.state = state; }
  function say(text) { statusEl.textContent = text; }
  function median(list) {
    if (!list.length) { return null; }
    var sorted = list.slice().sort(function (a, b) { return a - b; });
    return sorted[Math.floor(sorted.length / 2)];
  }

  function showError(text) {
    errorEl.textContent = text;
    errorEl.hidden = false;
  }

  function mediaError(err) {
    var name = err && err.name;
    if (name === "NotAllowedError" || name === "SecurityError") { return t.denied; }
    if (name === "NotFoundError" || name === "OverconstrainedError") { return t.no_device; }
    if (name === "NotReadableError" || name === "AbortError") { return t.busy; }
    return t.media_failed.replace("{reason}", name || String(err));
  }

  function startMeter(r) {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx || !r.stream.getAudioTracks().length) { return; }
    r.audio = new Ctx();
    r.audio.resume();
    var analyser = r.audio.createAnalyser();
    analyser.fftSize = 1024;
    r.audio.createMediaStreamSource(r.stream).connect(analyser);
    var data = new Float32Array(analyser.fftSize);
    meterRow.hidden = false;
    r.meterTimer = setInterval(function () {
      analyser.getFloatTimeDomainData(data);
      var peak = 0;
      for (var i = 0; i < data.length; i++) { peak = Math.max(peak, Math.abs(data[i])); }
      // Loudness is heard in decibels: -60 dBFS (a quiet room) is 0, 0 dBFS is 1.
      var level = peak > 0 ? Math.max(0, Math.min(1, 1 + Math.log10(peak) / 3)) : 0;
      meter.value = level;
      r.maxLevel = Math.max(r.maxLevel, level);
    }, 100);
  }

  function gathered(pc) {
    // Non-trickle: the worker wants every candidate in the offer.
    return new Promise(function (resolve) {
      if (pc.iceGatheringState === "complete") { resolve(); return; }
      var timer = setTimeout(resolve, GATHER_MS);
      pc.addEventListener("icegatheringstatechange", function () {
        if (pc.iceGatheringState === "complete") { clearTimeout(timer); resolve(); }
      });
    });
  }

  async function postOffer(pc) {
    var response = await fetch(root.dataset.offerUrl, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": root.dataset.csrf},
      body: JSON.stringify({sdp: pc.localDescription.sdp, type: "offer"})
    });
    var body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    if (!response.ok || !body || !body.sdp) {
      throw new Error((body && body.error) || (response.status + " " + response.statusText));
    }
    return body;
  }

  async function sample(r) {
    var report = await r.pc.getStats();
    var pair = null, outVideo = null, inbound = [], remoteInbound = [], outbound = [];
    report.forEach(function (s) {
      if (s.type === "transport" && s.selectedCandidatePairId) {
        pair = report.get(s.selectedCandidatePairId) || pair;
      } else if (s.type === "outbound-rtp") {
        outbound.push(s);
        if (s.kind === "video") { outVideo = s; }
      } else if (s.type === "inbound-rtp") {
        inbound.push(s);
        if (s.kind === "video") { r.echoFrames = s.framesDecoded || 0; }
        if (s.kind === "audio") { r.echoAudio = s.packetsReceived || 0; }
      } else if (s.type === "remote-inbound-rtp") {
        remoteInbound.push(s);
      }
    });
    if (!pair) {
      report.forEach(function (s) {
        if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") { pair = s; }
      });
    }
    r.framesSent = outVideo ? (outVideo.framesSent || 0) : 0;
    var rtt = pair && pair.currentRoundTripTime;
    if (rtt === undefined || rtt === null) {
      remoteInbound.forEach(function (s) { if (s.roundTripTime) { rtt = s.roundTripTime; } });
    }
    if (typeof rtt === "number") { r.rtts.push(rtt * 1000); }
    // Loss both ways: what the worker reported missing from us, and what we miss of
    // the echo.
    var lost = 0, got = 0, sentLost = 0, sent = 0, bytes = 0;
    inbound.forEach(function (s) { lost += Math.max(0, s.packetsLost || 0); got += s.packetsReceived || 0; });
    remoteInbound.forEach(function (s) { sentLost += Math.max(0, s.packetsLost || 0); });
    outbound.forEach(function (s) { sent += s.packetsSent || 0; bytes += s.bytesSent || 0; });
    var down = got + lost ? 100 * lost / (got + lost) : 0;
    var up = sent ? 100 * sentLost / sent : 0;
    r.loss = Math.max(down, up);
    if (pair && pair.availableOutgoingBitrate) {
      r.bandwidth = Math.max(r.bandwidth || 0, pair.availableOutgoingBitrate / 1000);
    } else if (r.lastBytes !== null) {
      r.bandwidth = Math.max(r.bandwidth || 0, (bytes - r.lastBytes) * 8 / 1000);
    }
    r.lastBytes = bytes;
    show(r);
  }

  function show(r) {
    out.camera.textContent = r.echoFrames > 0 ? fill(t.camera_ok, r.echoFrames)
      : r.framesSent > 0 ? t.camera_local : t.camera_none;
    out.camera.dataset.ok = String(r.echoFrames > 0);
    out.mic.textContent = r.maxLevel >= MIC_HEARD ? fill(t.mic_ok, Math.round(r.maxLevel * 100)) : t.mic_quiet;
    out.mic.dataset.level = String(Math.round(r.maxLevel * 100));
    var rtt = median(r.rtts);
    out.rtt.textContent = rtt === null ? t.unknown : fill(t.rtt, Math.round(rtt));
    out.loss.textContent = r.connected ? fill(t.loss, r.loss.toFixed(1)) : t.unknown;
    out.bandwidth.textContent = r.bandwidth ? fill(t.bandwidth, Math.round(r.bandwidth)) : t.unknown;
  }

  function verdict(r) {
    if (!r.connected || !(r.echoFrames > 0 || r.echoAudio > 0)) { return "poor"; }
    var rtt = median(r.rtts);
    var bw = r.bandwidth;
    if ((rtt === null || rtt <= 300) && r.loss <= 2 && (!bw || bw >= GOOD_KBPS)) { return "good"; }
    if ((rtt === null || rtt <= 700) && r.loss <= 8 && (!bw || bw >= FAIR_KBPS)) { return "fair"; }
    return "poor";
  }

  function stop(r) {
    clearInterval(r.meterTimer);
    clearInterval(r.statsTimer);
    clearTimeout(r.connectTimer);
    if (r.pc) { r.pc.close(); }
    if (r.stream) { r.stream.getTracks().forEach(function (track) { track.stop(); }); }
    if (r.audio) { r.audio.close(); }
    localVideo.srcObject = null;
    echoVideo.srcObject = null;
    meter.value = 0;
  }

  // ``judged`` is false when the test could not run (no camera, no server): then
  // there is nothing to say about the network.
  function finish(r, reason, judged) {
    if (r.done) { return; }
    r.done = true;
    stop(r);
    if (reason) { showError(reason); }
    if (judged !== false) {
      var result = verdict(r);
      verdictEl.textContent = t[result];
      verdictEl.dataset.verdict = result;
      verdictEl.hidden = false;
    }
    say("");
    startButton.textContent = t.again;
    startButton.disabled = false;
    setState("done");
    (verdictEl.hidden ? errorEl : verdictEl).focus();
    run = null;
  }

  function measure(r) {
    var left = seconds;
    say(fill(t.measuring, left));
    r.statsTimer = setInterval(function () {
      left -= 1;
      sample(r).catch(function () { /* a closed connection has no stats: finish below */ });
      if (left <= 0) { finish(r); } else { say(fill(t.measuring, left)); }
    }, 1000);
  }

  async function start() {
    if (run) { return; }
    var r = run = {rtts: [], loss: 0, bandwidth: null, lastBytes: null, maxLevel: 0,
                   echoFrames: 0, echoAudio: 0, framesSent: 0, connected: false, done: false};
    errorEl.hidden = true;
    verdictEl.hidden = true;
    Object.keys(out).forEach(function (name) { out[name].textContent = "—"; });
    startButton.disabled = true;
    setState("running");
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.RTCPeerConnection) {
      finish(r, t.unsupported, false);
      return;
    }
    say(t.starting);
    try {
      r.stream = await navigator.mediaDevices.getUserMedia({
        audio: true,
        video: {width: {ideal: 640}, height: {ideal: 480}, frameRate: {ideal: 15, max: 30}}
      });
    } catch (err) {
      finish(r, mediaError(err), false);
      return;
    }
    mediaEl.hidden = false;
    localVideo.srcObject = r.stream;
    startMeter(r);
    say(t.connecting);
    try {
      r.pc = new RTCPeerConnection({iceServers: iceServers});
      r.stream.getTracks().forEach(function (track) { r.pc.addTrack(track, r.stream); });
      var echo = new MediaStream();
      r.pc.addEventListener("track", function (ev) {
        echo.addTrack(ev.track);
        echoVideo.srcObject = echo;
      });
      r.pc.addEventListener("connectionstatechange", function () {
        var state = r.pc.connectionState;
        if (state === "connected" && !r.connected) {
          r.connected = true;
          clearTimeout(r.connectTimer);
          measure(r);
        } else if (state === "failed") {
          finish(r, t.no_connection);
        }
      });
      await r.pc.setLocalDescription(await r.pc.createOffer());
      await gathered(r.pc);
      var answer = await postOffer(r.pc);
      if (r.done) { return; }
      await r.pc.setRemoteDescription(answer);
      r.connectTimer = setTimeout(function () { finish(r, t.no_connection); }, CONNECT_MS);
    } catch (err) {
      finish(r, t.failed_server.replace("{reason}", err.message || String(err)), false);
    }
  }

  startButton.addEventListener("click", function () { start(); });
  window.addEventListener("pagehide", function () { if (run) { stop(run); } });
})();
