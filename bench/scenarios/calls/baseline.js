// The baseline: one negotiation between two connections in this page, as call.js does
// it, timed from the callee's getUserMedia ("Accept") to each side's first frame.
async (timeoutMs) => {
  const B = window.__bench, PC = B.OrigPC;
  const now = () => performance.now();
  const media = () => navigator.mediaDevices.getUserMedia({audio: true, video: true});
  const video = () => {
    const v = document.createElement("video");
    v.autoplay = true; v.playsInline = true; v.muted = true; v.width = 320; v.height = 240;
    document.body.appendChild(v);
    return v;
  };
  const callerMedia = await media(); // the caller's camera is on before the call is answered
  const v1 = video(), v2 = video();
  const r1 = {}, r2 = {};
  const t0 = now();
  const calleeMedia = await media();
  const gumDone = now();
  const a = new PC({iceServers: []}), b = new PC({iceServers: []});
  B.watch(a, r1, v1); B.watch(b, r2, v2);
  const show = (pc, v) => {
    const stream = new MediaStream();
    v.srcObject = stream;
    pc.ontrack = (e) => { stream.addTrack(e.track); v.play().catch(() => {}); };
  };
  show(a, v1); show(b, v2);
  const qa = [], qb = [];
  const deliver = (pc, q, c) => {
    if (pc.remoteDescription) { pc.addIceCandidate(c).catch(() => {}); } else { q.push(c); }
  };
  const flush = (pc, q) => {
    q.splice(0).forEach((c) => pc.addIceCandidate(c).catch(() => {}));
  };
  a.onicecandidate = (e) => { if (e.candidate) { deliver(b, qb, e.candidate.toJSON()); } };
  b.onicecandidate = (e) => { if (e.candidate) { deliver(a, qa, e.candidate.toJSON()); } };
  const init = {direction: "sendrecv", streams: [callerMedia]};
  a.addTransceiver(callerMedia.getAudioTracks()[0], init);
  a.addTransceiver(callerMedia.getVideoTracks()[0], init);
  const offer = await a.createOffer();
  await a.setLocalDescription(offer);
  await b.setRemoteDescription({type: "offer", sdp: a.localDescription.sdp});
  b.getTransceivers().forEach((tr) => {
    const kind = tr.receiver.track && tr.receiver.track.kind;
    tr.direction = "sendrecv";
    tr.sender.replaceTrack(kind === "audio" ? calleeMedia.getAudioTracks()[0]
                                            : calleeMedia.getVideoTracks()[0]);
    if (tr.sender.setStreams) { tr.sender.setStreams(calleeMedia); }
  });
  flush(b, qb);
  const answer = await b.createAnswer();
  await b.setLocalDescription(answer);
  await a.setRemoteDescription({type: "answer", sdp: b.localDescription.sdp});
  flush(a, qa);
  const deadline = now() + timeoutMs;
  while ((r1.frame === undefined || r2.frame === undefined ||
          r1.presented === undefined || r2.presented === undefined) && now() < deadline) {
    if (r1.frame !== undefined && r2.frame !== undefined &&
        now() - Math.max(r1.frame, r2.frame) > 1000) { break; }
    await new Promise((r) => setTimeout(r, 10));
  }
  a.close(); b.close();
  callerMedia.getTracks().forEach((t) => t.stop());
  calleeMedia.getTracks().forEach((t) => t.stop());
  v1.remove(); v2.remove();
  const DURATIONS = ["keyframes", "processing_ms"];
  const rel = (r) => {
    const out = {};
    for (const k of Object.keys(r)) {
      if (typeof r[k] === "number" && !DURATIONS.includes(k)) { out[k] = r[k] - t0; }
    }
    return out;
  };
  return {gum: gumDone - t0, caller: rel(r1), callee: rel(r2)};
}
