// Installed in every page before its own scripts. window.__bench: stamps (performance.now)
// and, per RTCPeerConnection the page makes, what happened when.
(() => {
  if (window.__bench) { return; }
  const now = () => performance.now();
  const B = window.__bench = {marks: {}, pcs: [], gum: [], off: 0,
                              OrigPC: window.RTCPeerConnection};
  B.mark = (name) => { if (!(name in B.marks)) { B.marks[name] = now(); } };
  // Date.now() - performance.now(): Date.now() is whole milliseconds, rounded down, so
  // the largest difference over a few milliseconds is the closest to the true offset.
  B.offset = () => {
    let best = -Infinity;
    const end = now() + 4;
    while (now() < end) { best = Math.max(best, Date.now() - performance.now()); }
    return best;
  };
  B.reset = () => { B.marks = {}; B.pcs = []; B.gum = []; B.off = B.offset(); return B.off; };
  B.watch = (pc, rec, video) => {
    rec.created = now();
    pc.addEventListener("iceconnectionstatechange", () => {
      const s = pc.iceConnectionState;
      if ((s === "connected" || s === "completed") && rec.ice === undefined) { rec.ice = now(); }
      if (s === "checking" && rec.checking === undefined) { rec.checking = now(); }
    });
    pc.addEventListener("connectionstatechange", () => {
      if (pc.connectionState === "connected" && rec.dtls === undefined) { rec.dtls = now(); }
      if (pc.connectionState === "failed") { rec.failed = now(); }
    });
    pc.addEventListener("signalingstatechange", () => {
      const name = {"have-remote-offer": "remote_offer", "have-local-offer": "local_offer",
                    "stable": "stable"}[pc.signalingState];
      if (name && rec[name] === undefined) { rec[name] = now(); }
    });
    pc.addEventListener("track", (e) => {
      if (e.track.kind === "video" && rec.track === undefined) { rec.track = now(); }
    });
    const poll = () => {
      if (pc.signalingState === "closed") { return; }
      pc.getStats().then((report) => {
        let frames = 0, packets = 0, keyframes = 0;
        report.forEach((s) => {
          if (s.type === "inbound-rtp" && s.kind === "video") {
            frames += s.framesDecoded || 0; packets += s.packetsReceived || 0;
            keyframes += s.keyFramesDecoded || 0;
          }
        });
        if (packets > 0 && rec.packet === undefined) { rec.packet = now(); }
        if (frames > 0) { rec.frame = now(); rec.keyframes = keyframes; return; }
        setTimeout(poll, 20);
      }).catch(() => {});
    };
    setTimeout(poll, 20);
    if (video && video.requestVideoFrameCallback) {
      video.requestVideoFrameCallback((t, meta) => {
        rec.presented = meta.presentationTime || t;
        rec.rvfc_called = now();
        if (meta.receiveTime) { rec.frame_received = meta.receiveTime; }
        if (meta.processingDuration !== undefined) {
          rec.processing_ms = 1000 * meta.processingDuration;
        }
        // Decoded: the frame's last packet received + the decoder's time (WebRTC sources).
        rec.decoded = meta.receiveTime && meta.processingDuration !== undefined
          ? meta.receiveTime + 1000 * meta.processingDuration : rec.presented;
      });
    }
  };
  if (B.OrigPC) {
    window.RTCPeerConnection = class extends B.OrigPC {
      constructor(...args) {
        super(...args);
        const rec = {};
        B.pcs.push(rec);
        B.watch(this, rec, document.getElementById("remote-video"));
      }
    };
  }
  if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    const md = navigator.mediaDevices, gum = md.getUserMedia.bind(md);
    md.getUserMedia = (c) => {
      const started = now();
      return gum(c).then((s) => { B.gum.push([started, now()]); return s; });
    };
  }
  // The press on Accept, before call.js's own listener (capture on the window).
  window.addEventListener("click", (e) => {
    if (e.target && e.target.closest && e.target.closest("#call-accept")) { B.mark("accept"); }
  }, true);
})();
