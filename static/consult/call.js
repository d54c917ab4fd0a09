// Calls in the consultation room: WebRTC peer to peer between the two browsers,
// signaled over the room's socket (room.js). The caller's page always makes the offers;
// each new peer connection has a new "generation" id, so after a reload or a new
// network either side rejoins the same call and the caller offers again.
(function () {
  "use strict";
  var R = window.pdRoom;
  var el = document.getElementById("calls");
  if (!R || !el) { return; }
  var t = JSON.parse(el.dataset.i18n);
  var socket = R.socket, cid = R.cid, side = R.side;
  var storeKey = "pd-call-" + cid; // the call this tab takes part in (survives a reload)
  var $ = function (id) { return document.getElementById(id); };
  var statusEl = $("call-status"), noticeEl = $("call-notice"), peerEl = $("call-peer");
  var remoteVideo = $("remote-video"), localVideo = $("local-video");
  var micBtn = $("call-mic"), camBtn = $("call-cam"), switchBtn = $("call-switch");

  var call = null;        // the open call as the server last told it
  var inCall = false;     // this tab takes part in it
  var iceServers = [];
  var pc = null, gen = null, queued = [], remoteStream = null;
  var local = null;       // this side's MediaStream
  var micOn = true;
  var stats = {prev: null, poor: 0, last: null, sampledAt: 0};
  var statsTimer = null, clockTimer = null, ringTimer = null, restartTimer = null;
  var peerVideo = true;
  var haveIce = false; // the ICE servers (fresh TURN credentials) came with an answer of the server
  var busy = false;     // a start, an answer or a rejoin is under way: one at a time
  var early = {};       // candidates of a generation whose offer has not arrived yet
  var RING_MS = 60000;

  var supported = !!(window.RTCPeerConnection && navigator.mediaDevices &&
                     navigator.mediaDevices.getUserMedia);
  // For tests and support: the live connection and the last measurement.
  window.pdCall = {get pc() { return pc; }, get stats() { return stats.last; },
                   get call() { return call; }, get inCall() { return inCall; }};

  function newGen() {
    var b = new Uint8Array(8);
    crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
  }
  function say(text) { statusEl.textContent = text || ""; }
  function notice(text) { noticeEl.textContent = text || ""; }
  function emit(name, data) {
    return new Promise(function (resolve) {
      socket.emit(name, data, function (ack) { resolve(ack || {ok: false, error: ""}); });
    });
  }
  function remember(id) {
    if (id) { sessionStorage.setItem(storeKey, String(id)); } else { sessionStorage.removeItem(storeKey); }
  }
  function track(kind) {
    return local ? (kind === "audio" ? local.getAudioTracks()[0] : local.getVideoTracks()[0]) || null : null;
  }
  function transceiver(kind) {
    if (!pc) { return null; }
    var all = pc.getTransceivers();
    for (var i = 0; i < all.length; i++) {
      if (all[i].receiver.track && all[i].receiver.track.kind === kind) { return all[i]; }
    }
    return null;
  }

  // --- what the section shows -------------------------------------------------------
  var pageTitle = document.title;
  var alerts = window.pdAlerts; // alerts.js: the ringtone, the banner, the title

  // An incoming call rings (sound, vibration, banner, "☎" in the tab's title) until it
  // is answered, declined or over.
  function ringing(on) {
    if (!alerts) { document.title = on ? "\u260E " + pageTitle : pageTitle; return; }
    if (!on) { alerts.stop("call"); return; }
    alerts.ring("call", call.kind === "video" ? t.incoming_video : t.incoming_audio, {action: {
      label: alerts.t.show_call,
      run: function () {
        el.scrollIntoView({block: "center"});
        $("call-accept").focus();
      }
    }});
  }

  function render() {
    var open = call && (call.status === "ringing" || call.status === "active");
    // An incoming call is announced at once and shows in the tab's title.
    var incoming = !!(open && call.status === "ringing" && call.caller !== side && !inCall);
    statusEl.setAttribute("aria-live", incoming ? "assertive" : "polite");
    ringing(incoming);
    $("call-idle").hidden = !!open || !supported;
    $("call-incoming").hidden = !(open && call.status === "ringing" && call.caller !== side && !inCall);
    $("call-elsewhere").hidden = !(open && call.status === "active" && !inCall);
    $("call-media").hidden = !(open && inCall);
    if (!supported) { say(t.no_webrtc); return; }
    if (!open) { return; }
    if (call.status === "ringing") {
      if (call.caller === side) { say(inCall ? t.calling : t.elsewhere); }
      else if (!inCall) { say(call.kind === "video" ? t.incoming_video : t.incoming_audio); }
    } else if (!inCall) {
      say(t.in_progress);
    }
    var video = !!track("video");
    micBtn.textContent = micOn ? t.mute : t.unmute;
    micBtn.setAttribute("aria-pressed", micOn ? "false" : "true");
    camBtn.textContent = video ? t.camera_off : t.camera_on;
    camBtn.setAttribute("aria-pressed", video ? "false" : "true");
    switchBtn.textContent = video || peerVideo ? t.to_audio : t.to_video;
    localVideo.hidden = !video;
  }

  function showTimer() {
    clearInterval(clockTimer);
    clockTimer = setInterval(function () {
      if (!call || call.elapsed === null || call.elapsed === undefined) { $("call-timer").textContent = ""; return; }
      // From the server's count when it last told us, on this device's clock (which may
      // be set wrong: only differences of it are used).
      var s = Math.max(0, Math.floor(call.elapsed + (Date.now() - call.receivedAt) / 1000));
      $("call-timer").textContent = Math.floor(s / 60) + ":" + ("0" + (s % 60)).slice(-2);
    }, 1000);
  }

  // --- media --------------------------------------------------------------------------
  function getMedia(kind) {
    if (local) { return Promise.resolve(local); }
    var wantVideo = kind === "video";
    return navigator.mediaDevices.getUserMedia({audio: true, video: wantVideo})
      .catch(function (err) {
        if (!wantVideo) { throw err; }
        notice(t.no_camera); // no camera, or it is busy: the call goes on with audio
        return navigator.mediaDevices.getUserMedia({audio: true, video: false});
      })
      .then(function (stream) {
        local = stream;
        localVideo.srcObject = stream;
        micOn = true;
        return stream;
      });
  }

  function stopMedia() {
    if (local) { local.getTracks().forEach(function (tr) { tr.stop(); }); }
    local = null;
    localVideo.srcObject = null;
  }

  function cameraOn() {
    if (track("video")) { return Promise.resolve(); }
    return navigator.mediaDevices.getUserMedia({video: true}).then(function (s) {
      var v = s.getVideoTracks()[0];
      if (!local) { local = new MediaStream(); }
      local.addTrack(v);
      localVideo.srcObject = local;
      var tr = transceiver("video");
      return tr ? tr.sender.replaceTrack(v) : null;
    }).catch(function () { notice(t.no_camera); });
  }

  function cameraOff() {
    var v = track("video");
    if (!v) { return Promise.resolve(); }
    v.stop();
    local.removeTrack(v);
    var tr = transceiver("video");
    return tr ? tr.sender.replaceTrack(null) : Promise.resolve();
  }

  function tellMedia(reason) {
    if (!call || !inCall) { return; }
    socket.emit("call_media", {call: call.id, audio: micOn, video: !!track("video"), reason: reason || null});
  }

  // --- the peer connection ----------------------------------------------------------
  function makePc() {
    closePc();
    pc = new RTCPeerConnection({iceServers: iceServers}); // [] by default: no outside host
    remoteStream = new MediaStream();
    remoteVideo.srcObject = remoteStream;
    var mine = pc, myGen = gen;
    pc.onicecandidate = function (e) {
      if (pc !== mine) { return; }
      socket.emit("call_signal", {call: call.id, gen: myGen, candidate: e.candidate ? e.candidate.toJSON() : null});
    };
    pc.ontrack = function (e) {
      if (pc !== mine) { return; }
      remoteStream.addTrack(e.track);
      var played = remoteVideo.play();
      if (played && played.catch) {
        played.catch(function (err) { // the browser wants a tap before sound plays
          if (err && err.name === "NotAllowedError") { $("call-sound").hidden = false; }
        });
      }
    };
    pc.onconnectionstatechange = function () {
      if (pc !== mine) { return; }
      var state = pc.connectionState;
      clearTimeout(restartTimer);
      if (state === "connected") { say(t.connected); notice(""); }
      else if (state === "connecting" || state === "new") { say(t.connecting); }
      else if (state === "disconnected" || state === "failed") {
        say(t.reconnecting);
        // Give a short network hiccup a moment, then restart ICE (or ask the caller to).
        restartTimer = setTimeout(recover, state === "failed" ? 0 : 3000);
      }
    };
    return pc;
  }

  function closePc() {
    if (pc) { try { pc.close(); } catch (e) { /* already closed */ } }
    pc = null;
    queued = [];
  }

  function offer(restart) {
    var mine = pc, myGen = gen;
    return pc.createOffer(restart ? {iceRestart: true} : {})
      .then(function (o) { return mine.setLocalDescription(o); })
      .then(function () {
        if (pc !== mine) { return; }
        socket.emit("call_signal", {call: call.id, gen: myGen, description: {type: mine.localDescription.type, sdp: mine.localDescription.sdp}});
      });
  }

  // The caller's side: a fresh connection (new generation) and an offer.
  function connect() {
    if (!inCall || !call || call.status !== "active" || call.caller !== side) { return; }
    gen = newGen();
    makePc();
    var stream = local || new MediaStream();
    pc.addTransceiver(track("audio") || "audio", {direction: "sendrecv", streams: [stream]});
    pc.addTransceiver(track("video") || "video", {direction: "sendrecv", streams: [stream]});
    say(t.connecting);
    offer(false).catch(function (err) { notice(t.failed.replace("{reason}", err.message)); });
  }

  // Fresh ICE servers (TURN credentials expire) from the server, for the connection.
  function refreshIce() {
    return emit("call_join", {call: call.id, pc: pc ? pc.connectionState : "none"}).then(function (ack) {
      if (ack.ok && ack.ice_servers) {
        iceServers = ack.ice_servers;
        if (pc) { try { pc.setConfiguration({iceServers: iceServers}); } catch (e) { /* closed */ } }
      }
      return ack;
    });
  }

  function recover() {
    if (!inCall || !call || call.status !== "active") { return; }
    // The called side's join also asks the caller to restart; the caller restarts itself.
    refreshIce().then(function () {
      if (call.caller !== side || !inCall) { return; }
      if (pc && pc.connectionState === "disconnected") { offer(true).catch(connect); }
      else if (!pc || pc.connectionState === "failed" || pc.connectionState === "closed") { connect(); }
    });
  }

  function flushCandidates() {
    var list = queued.concat(early[gen] || []);
    queued = [];
    delete early[gen];
    list.forEach(function (c) { pc.addIceCandidate(c).catch(function () { /* stale */ }); });
  }

  function onDescription(msg) {
    var d = msg.description;
    if (d.type === "offer") {
      if (call.caller === side) { return; } // only the caller offers
      var fresh = msg.gen !== gen || !pc;
      if (fresh) {
        gen = msg.gen;
        makePc();
        var ahead = early[gen];
        early = {}; // older generations' candidates are of no use now
        if (ahead) { early[gen] = ahead; }
      }
      var mine = pc;
      return mine.setRemoteDescription(d).then(function () {
        if (fresh) {
          // Our transceivers come from the offer: send on them what we have.
          mine.getTransceivers().forEach(function (tr) {
            var kind = tr.receiver.track && tr.receiver.track.kind;
            tr.direction = "sendrecv";
            tr.sender.replaceTrack(track(kind));
            if (local && tr.sender.setStreams) { tr.sender.setStreams(local); }
          });
        }
        flushCandidates();
        return mine.createAnswer();
      }).then(function (a) { return mine.setLocalDescription(a); }).then(function () {
        if (pc !== mine) { return; }
        socket.emit("call_signal", {call: call.id, gen: msg.gen, description: {type: mine.localDescription.type, sdp: mine.localDescription.sdp}});
      });
    }
    if (msg.gen !== gen || !pc || pc.signalingState !== "have-local-offer") { return; }
    return pc.setRemoteDescription(d).then(flushCandidates);
  }

  // Signals may overtake each other on the way (the server handles events in parallel):
  // a candidate ahead of its offer waits for it, one ahead of an ICE restart's offer is
  // tried again once that offer is applied.
  function onCandidate(msg) {
    if (!msg.candidate) { return; } // the end of their candidates
    if (msg.gen !== gen || !pc) {
      (early[msg.gen] = early[msg.gen] || []).push(msg.candidate);
      return;
    }
    if (pc.remoteDescription) {
      var mine = pc;
      pc.addIceCandidate(msg.candidate).catch(function () {
        if (pc === mine) { queued.push(msg.candidate); }
      });
    } else {
      queued.push(msg.candidate);
    }
  }

  // --- quality: getStats every 2 s; poor network → audio; samples for support ------
  function measure() {
    if (!pc || pc.connectionState !== "connected") { return; }
    pc.getStats().then(function (report) {
      var now = {at: Date.now(), vFrames: 0, vPackets: 0, vLost: 0, aPackets: 0, aLost: 0, bytes: 0,
                 rtt: null, width: null, height: null, fps: null};
      report.forEach(function (s) {
        if (s.type === "inbound-rtp") {
          if (s.kind === "video") {
            now.vFrames += s.framesDecoded || 0; now.vPackets += s.packetsReceived || 0;
            now.vLost += Math.max(0, s.packetsLost || 0);
            if (s.frameWidth) { now.width = s.frameWidth; now.height = s.frameHeight; now.fps = s.framesPerSecond || null; }
          } else {
            now.aPackets += s.packetsReceived || 0; now.aLost += Math.max(0, s.packetsLost || 0);
          }
          now.bytes += s.bytesReceived || 0;
        } else if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded" &&
                   typeof s.currentRoundTripTime === "number") {
          now.rtt = s.currentRoundTripTime;
        }
      });
      var p = stats.prev;
      stats.prev = now;
      if (!p) { return; }
      var secs = Math.max(0.5, (now.at - p.at) / 1000);
      var got = (now.vPackets - p.vPackets) + (now.aPackets - p.aPackets);
      var lost = (now.vLost - p.vLost) + (now.aLost - p.aLost);
      var loss = got + lost > 0 ? lost / (got + lost) : 0;
      var videoPackets = now.vPackets - p.vPackets, frames = now.vFrames - p.vFrames;
      stats.last = {rtt_ms: now.rtt === null ? null : Math.round(now.rtt * 1000), loss: loss,
                    bitrate_kbps: Math.round((now.bytes - p.bytes) * 8 / secs / 1000),
                    width: now.width, height: now.height, fps: now.fps, frames_decoded: now.vFrames,
                    audio_packets: now.aPackets, audio_only: !track("video") && !peerVideo};
      var videoOn = !!track("video") || peerVideo;
      var bad = loss > 0.1 || (now.rtt !== null && now.rtt > 1.0) || (videoPackets > 20 && frames === 0);
      stats.poor = videoOn && bad ? stats.poor + 1 : 0;
      if (stats.poor >= 3) { // about 6 s of a poor network: video off on both sides
        stats.poor = 0;
        toAudio("poor");
      }
      if (now.at - stats.sampledAt >= 10000) {
        stats.sampledAt = now.at;
        socket.emit("call_quality", Object.assign({call: call.id}, stats.last));
      }
    }).catch(function () { /* closed meanwhile */ });
  }

  function toAudio(reason) {
    cameraOff().then(function () {
      if (reason === "poor") { notice(t.poor); }
      tellMedia(reason || "audio");
      render();
    });
  }

  // --- recording (both sides agreed): this side's microphone also goes to the server --
  var rec = {pc: null, state: null};

  function gathered(peer) {
    return new Promise(function (resolve) {
      if (peer.iceGatheringState === "complete") { resolve(); return; }
      peer.addEventListener("icegatheringstatechange", function () {
        if (peer.iceGatheringState === "complete") { resolve(); }
      });
      setTimeout(resolve, 2000); // on loopback and behind TURN gathering ends far sooner
    });
  }

  function startRecorder() {
    var mic = track("audio");
    if (rec.pc || !mic || !call) { return; }
    var peer = new RTCPeerConnection({iceServers: iceServers});
    rec.pc = peer;
    peer.addTransceiver(mic, {direction: "sendonly"}); // muting the call mutes this too
    peer.createOffer().then(function (o) { return peer.setLocalDescription(o); })
      .then(function () { return gathered(peer); })
      .then(function () { return emit("call_record_offer", {call: call.id, sdp: peer.localDescription.sdp}); })
      .then(function (ack) {
        if (!ack.ok) { throw new Error(ack.error); }
        return peer.setRemoteDescription(ack.answer);
      })
      .catch(function (err) {
        if (rec.pc === peer) { stopRecorder(); }
        $("record-status").textContent = t.failed.replace("{reason}", err.message);
      });
  }

  function stopRecorder() {
    if (rec.pc) { try { rec.pc.close(); } catch (e) { /* closed */ } }
    rec.pc = null;
  }

  function showRecording(s) {
    var box = $("call-record");
    if (!box || !s) { return; }
    if (!call || s.call !== call.id) { // the call has ended meanwhile: say how it went
      if (s.status === "ready") { say(t.ended + " " + t.record_ready); }
      if (s.status === "failed") { say(t.ended + " " + t.record_failed); }
      return;
    }
    rec.state = s;
    var words = "";
    $("record-ask").hidden = !(s.status === "asking" && !s[side]);
    if (s.status === "asking") { words = s[side] ? t.record_waiting : t.record_asked; }
    else if (s.status === "recording") { words = t.recording; }
    else if (s.status === "finishing") { words = t.record_saving; }
    else if (s.status === "refused") { words = t.record_refused; }
    else if (s.status === "ready") { words = t.record_ready; }
    else if (s.status === "failed") { words = t.record_failed; }
    $("record-status").textContent = words;
    $("record-start").hidden = true; // asked once per call
    $("record-stop").hidden = s.status !== "recording";
    if (s.status === "recording" && inCall) { startRecorder(); } else { stopRecorder(); }
  }

  if ($("call-record")) {
    $("record-start").addEventListener("click", function () {
      if (call) { emit("call_record", {call: call.id, agree: true}).then(function (ack) { if (ack.ok) { showRecording(ack.recording); } else { $("record-status").textContent = ack.error; } }); }
    });
    $("record-agree").addEventListener("click", function () {
      if (call) { socket.emit("call_record", {call: call.id, agree: true}); }
    });
    $("record-refuse").addEventListener("click", function () {
      if (call) { socket.emit("call_record", {call: call.id, agree: false}); }
    });
    $("record-stop").addEventListener("click", function () {
      if (call) { socket.emit("call_record_stop", {call: call.id}); }
    });
    socket.on("call_recording", showRecording);
  }

  // --- the call's life ----------------------------------------------------------------
  function stamp(state) {
    if (state) { state.receivedAt = Date.now(); }
    return state;
  }

  function enter(ack) {
    call = stamp(ack.call);
    iceServers = ack.ice_servers || [];
    haveIce = true;
    if (!inCall) { peerVideo = call.kind === "video"; }
    inCall = true;
    remember(call.id);
    clearInterval(statsTimer);
    statsTimer = setInterval(measure, 2000);
    showTimer();
    render();
    if (ack.recording) { showRecording(ack.recording); }
  }

  function leave(message) {
    inCall = false;
    remember(null);
    clearInterval(statsTimer); clearInterval(clockTimer); clearTimeout(ringTimer); clearTimeout(restartTimer);
    stopRecorder();
    closePc();
    stopMedia();
    gen = null; stats.prev = null; peerVideo = true; haveIce = false;
    remoteVideo.srcObject = null;
    $("call-timer").textContent = "";
    $("call-sound").hidden = true;
    peerEl.textContent = "";
    notice("");
    say(message || "");
    render();
  }

  function failed(ack) {
    if (!inCall) { stopMedia(); } // media a live call uses stays on
    say(t.failed.replace("{reason}", ack.error || ""));
    render();
  }

  // One start, answer or rejoin at a time (a double tap must not start two).
  function once(action) {
    return function () {
      if (busy) { return; }
      busy = true;
      var done = function () { busy = false; };
      action().then(done, done);
    };
  }

  function ringOut(state) { // the server's ring time is over: give up
    clearTimeout(ringTimer);
    var left = RING_MS - (state.ringing_for || 0) * 1000;
    ringTimer = setTimeout(function () {
      if (!call || call.id !== state.id || call.status !== "ringing") { return; }
      if (inCall) { socket.emit("call_end", {call: call.id}); }
      else { call = null; say(t.missed); render(); } // the caller's page went away
    }, Math.max(0, left));
  }

  function start(kind) {
    say(t.calling);
    return getMedia(kind).then(function () {
      return emit("call_start", {consultation: cid, kind: kind});
    }).then(function (ack) {
      if (!ack.ok) { failed(ack); return; }
      enter(ack);
      ringOut(ack.call);
    }).catch(function () { stopMedia(); say(t.no_media); });
  }

  function accept() {
    var ringing = call;
    if (!ringing) { return Promise.resolve(); }
    return getMedia(ringing.kind).then(function () {
      return emit("call_answer", {call: ringing.id, accept: true});
    }).then(function (ack) {
      if (!ack.ok) { failed(ack); return; }
      if (ack.call.status !== "active") { stopMedia(); call = null; say(t.missed); render(); return; }
      clearTimeout(ringTimer);
      enter(ack); // the caller's page offers now
      say(t.connecting);
    }).catch(function () { stopMedia(); say(t.no_media); });
  }

  // After a reload or a reconnect: take part again in the open call.
  function rejoin() {
    var current = call;
    if (!current) { return Promise.resolve(); }
    return getMedia(current.kind).then(function () {
      return emit("call_join", {call: current.id, pc: pc ? pc.connectionState : "none"});
    }).then(function (ack) {
      if (!ack.ok) { remember(null); failed(ack); return; }
      enter(ack);
      if (call.caller === side && (!pc || pc.connectionState !== "connected")) { connect(); }
    }).catch(function () { stopMedia(); say(t.no_media); });
  }

  document.addEventListener("pd:joined", function (e) {
    var open = e.detail.call;
    var mine = Number(sessionStorage.getItem(storeKey) || 0);
    if (!open) {
      if (inCall) { leave(t.ended); } else { call = null; remember(null); render(); }
      return;
    }
    call = stamp(open);
    if (open.status === "active" && (inCall || mine === open.id)) { once(rejoin)(); return; }
    if (open.status === "ringing") { ringOut(open); }
    if (open.status === "ringing" && open.caller === side && mine === open.id && !inCall) {
      getMedia(open.kind).then(function () { inCall = true; render(); say(t.calling); });
      return;
    }
    render();
  });

  socket.on("call", function (s) {
    if (s.consultation !== cid) { return; }
    if (s.status === "ringing" || s.status === "active") {
      var wasRinging = call && call.id === s.id && call.status === "ringing";
      call = stamp(s);
      if (s.status === "ringing" && !wasRinging) { ringOut(s); }
      if (s.status === "active" && inCall && wasRinging && s.caller === side) {
        clearTimeout(ringTimer);
        if (haveIce) { connect(); }
        else { emit("call_join", {call: s.id, pc: "none"}).then(function (ack) { if (ack.ok) { enter(ack); connect(); } }); }
      }
      render();
      return;
    }
    if (call && call.id !== s.id) { return; }
    var words = s.status === "declined" ? t.declined : s.status === "missed" ? t.missed : t.ended;
    call = null;
    if (inCall) { leave(words); } else { say(words); render(); }
  });

  socket.on("call_signal", function (msg) {
    if (!inCall || !call || msg.call !== call.id || msg.from === side) { return; }
    if (msg.description) {
      var done = onDescription(msg);
      if (done && done.catch) { done.catch(function (err) { notice(t.failed.replace("{reason}", err.message)); }); }
    } else {
      onCandidate(msg);
    }
  });

  socket.on("call_peer", function (msg) {
    if (!inCall || !call || msg.call !== call.id || msg.from === side) { return; }
    if (msg.event === "away") { peerEl.textContent = t.peer_away; return; }
    peerEl.textContent = "";
    if (msg.event === "joined" && call.caller === side) {
      if (msg.pc === "connected" && pc && pc.connectionState === "connected") { return; }
      if (pc && msg.pc !== "none" && pc.connectionState !== "closed" && pc.connectionState !== "failed") {
        offer(true).catch(connect); // same connection on both sides: restart ICE
      } else {
        connect(); // their page is new: a new connection
      }
    }
  });

  socket.on("call_media", function (msg) {
    if (!inCall || !call || msg.call !== call.id || msg.from === side) { return; }
    peerVideo = msg.video;
    var words = [];
    if (!msg.audio) { words.push(t.peer_muted); }
    if (!msg.video) { words.push(t.peer_no_video); }
    peerEl.textContent = words.join(" ");
    if ((msg.reason === "poor" || msg.reason === "audio") && track("video")) {
      // They switched the call to audio: so do we (and say so, without a reason).
      if (msg.reason === "poor") { notice(t.poor); }
      cameraOff().then(function () { tellMedia(null); render(); });
    }
    render();
  });

  $("call-audio").addEventListener("click", once(function () { return start("audio"); }));
  $("call-video").addEventListener("click", once(function () { return start("video"); }));
  $("call-accept").addEventListener("click", once(accept));
  $("call-decline").addEventListener("click", function () {
    if (call) { socket.emit("call_answer", {call: call.id, accept: false}); }
  });
  [$("call-accept"), $("call-decline")].forEach(function (button) { // silent at once
    button.addEventListener("click", function () { if (alerts) { alerts.stop("call"); } });
  });
  $("call-join").addEventListener("click", once(rejoin));
  $("call-hangup").addEventListener("click", function () {
    if (!call) { leave(""); return; }
    emit("call_end", {call: call.id}).then(function () { if (inCall) { leave(t.ended); } });
  });
  micBtn.addEventListener("click", function () {
    micOn = !micOn;
    var a = track("audio");
    if (a) { a.enabled = micOn; }
    tellMedia(null);
    render();
  });
  camBtn.addEventListener("click", function () {
    (track("video") ? cameraOff() : cameraOn()).then(function () { tellMedia(null); render(); });
  });
  switchBtn.addEventListener("click", function () {
    if (track("video") || peerVideo) { toAudio("audio"); }
    else { cameraOn().then(function () { tellMedia(null); render(); }); }
  });
  $("call-sound").addEventListener("click", function () {
    remoteVideo.play().then(function () { $("call-sound").hidden = true; });
  });
  window.addEventListener("pagehide", function () { clearInterval(statsTimer); });
  render();
})();
