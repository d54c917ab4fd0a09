// The consultation room: live chat over Socket.IO with stored-first messages,
// idempotent resends (client-made ids), replay after a reconnect, typing and read marks.
(function () {
  "use strict";
  var root = document.getElementById("room");
  if (!root || typeof io === "undefined") { return; }
  var cid = Number(root.dataset.consultation);
  var side = root.dataset.side;
  var status = root.dataset.status;
  var appointmentStatus = root.dataset.appointmentStatus || ""; // a specialist consultation
  var t = JSON.parse(root.dataset.i18n);
  var marks = JSON.parse(root.dataset.marks);
  var list = document.getElementById("messages");
  var typingEl = document.getElementById("typing");
  var connEl = document.getElementById("connection");
  var form = document.getElementById("send");
  var textarea = document.getElementById("body");
  var errorEl = document.getElementById("send-error");
  var other = side === "patient" ? "doctor" : "patient";
  var storeKey = "pd-pending-" + cid;
  var draftKey = "pd-draft-" + cid;
  var timeFormat = {hour: "2-digit", minute: "2-digit", timeZone: root.dataset.timezone};
  var lastId = 0;
  var seen = {};
  var typingTimer = null;
  var lastTypingSent = 0;
  var leaving = false; // a form of this page was sent (close, leave the queue)
  document.addEventListener("submit", function (ev) {
    if (!ev.defaultPrevented) { leaving = true; } // the chat form prevents its default
  });

  function fill(template, num) { return template.replace("{num}", String(num)); }

  function pending() {
    try { return JSON.parse(sessionStorage.getItem(storeKey) || "{}"); } catch (e) { return {}; }
  }
  function savePending(p) { sessionStorage.setItem(storeKey, JSON.stringify(p)); }

  function newId() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function duration(seconds) {
    var s = Math.max(0, seconds | 0);
    var m = Math.floor(s / 60);
    return m + ":" + ("0" + (s % 60)).slice(-2);
  }

  // A call event of the timeline (started, ended, declined, missed), in this language.
  function callText(e) {
    if (e.event === "started") { return e.kind === "video" ? t.call_started_video : t.call_started_audio; }
    if (e.event === "ended") { return t.call_ended.replace("{duration}", duration(e.duration || 0)); }
    if (e.event === "declined") { return t.call_declined; }
    return t.call_missed;
  }

  function messageElement(from, clientId, body, sentAt, call) {
    var li = document.createElement("li");
    li.className = "message from-" + from + (from === side ? " mine" : "") + (call ? " event" : "");
    li.dataset.clientId = clientId;
    var who = document.createElement("p");
    who.className = "who";
    who.appendChild(document.createTextNode((from === side ? t.you : t[from]) + " · "));
    var time = document.createElement("time");
    if (sentAt) {
      time.dateTime = sentAt;
      time.textContent = new Date(sentAt).toLocaleTimeString(document.documentElement.lang, timeFormat);
    }
    who.appendChild(time);
    who.appendChild(document.createTextNode(" "));
    var mark = document.createElement("span");
    mark.className = "mark";
    who.appendChild(mark);
    var p = document.createElement("p");
    p.className = "body";
    p.textContent = call ? callText(call) : body; // never innerHTML: text is shown as typed
    li.appendChild(who);
    li.appendChild(p);
    return li;
  }

  function add(m) {
    if (m.consultation !== cid || seen[m.id]) { return; }
    seen[m.id] = true;
    lastId = Math.max(lastId, m.id);
    var existing = list.querySelector('li[data-client-id="' + CSS.escape(m.client_id) + '"]:not([data-id])');
    if (existing && m.from === side) {
      existing.dataset.id = m.id;
      existing.classList.remove("pending");
      existing.querySelector("time").dateTime = m.sent_at;
      existing.querySelector("time").textContent = new Date(m.sent_at).toLocaleTimeString(document.documentElement.lang, timeFormat);
    } else {
      var li = messageElement(m.from, m.client_id, m.body, m.sent_at, m.call);
      li.dataset.id = m.id;
      list.appendChild(li);
    }
    if (m.from === side) {
      var p = pending();
      if (p[m.client_id]) { delete p[m.client_id]; savePending(p); }
    } else if (typingEl) {
      typingEl.textContent = "";
    }
    showMarks();
    list.lastElementChild && list.lastElementChild.scrollIntoView({block: "nearest"});
  }

  function showMarks() {
    var delivered = marks[other + "_delivered"] || 0;
    var read = marks[other + "_read"] || 0;
    list.querySelectorAll("li.mine:not(.event)").forEach(function (li) {
      var id = Number(li.dataset.id || 0);
      var label = !id ? t.sending : id <= read ? t.read : id <= delivered ? t.delivered : t.sent;
      li.querySelector(".mark").textContent = label;
      li.dataset.mark = !id ? "sending" : id <= read ? "read" : id <= delivered ? "delivered" : "sent";
    });
  }

  function newestFromOther() {
    var items = list.querySelectorAll("li.from-" + other + "[data-id]");
    return items.length ? Number(items[items.length - 1].dataset.id) : 0;
  }

  function receipts() {
    var upto = newestFromOther();
    if (!upto) { return; }
    var kind = document.visibilityState === "visible" ? "read" : "delivered";
    var mine = marks[side + "_" + kind] || 0;
    if (upto > mine) {
      socket.emit("receipt", {consultation: cid, kind: kind, upto: upto}, function (ack) {
        if (ack && ack.ok) { marks = ack.marks; }
      });
    }
  }

  function send(clientId, body) {
    socket.emit("send", {consultation: cid, client_id: clientId, body: body}, function (ack) {
      if (ack && ack.code === 401) { location.reload(); return; } // signed out: to the login page
      if (ack && ack.ok) {
        add(ack.message);
        if (errorEl) { errorEl.textContent = ""; }
      } else if (ack && ack.code && ack.code !== 500 && ack.code !== 429) {
        // Refused for good (closed, invalid): stop resending it.
        var p = pending(); delete p[clientId]; savePending(p);
        var li = list.querySelector('li[data-client-id="' + CSS.escape(clientId) + '"]:not([data-id])');
        if (li) { li.classList.add("failed"); li.querySelector(".mark").textContent = ""; }
        if (errorEl) { errorEl.textContent = t.failed.replace("{reason}", ack.error); }
      } else if (ack && errorEl) {
        errorEl.textContent = t.failed.replace("{reason}", ack.error);
      }
    });
  }

  function showWait(w) {
    var pos = document.getElementById("wait-position");
    if (!pos) { return; }
    pos.textContent = fill(t.position, w.position);
    document.getElementById("wait-eta").textContent = w.eta_minutes ? fill(t.eta, w.eta_minutes) : t.no_eta;
    var docs = document.getElementById("wait-doctors");
    docs.textContent = w.doctors_on_shift ? fill(t.doctors, w.doctors_on_shift) : t.no_doctor;
    docs.className = w.doctors_on_shift ? "" : "alert";
  }

  list.querySelectorAll("li[data-id]").forEach(function (li) {
    var id = Number(li.dataset.id);
    seen[id] = true;
    lastId = Math.max(lastId, id);
  });
  // Messages typed before a reload that the server never confirmed: show and resend.
  var stored = pending();
  Object.keys(stored).forEach(function (clientId) {
    if (!list.querySelector('li[data-client-id="' + CSS.escape(clientId) + '"]')) {
      var li = messageElement(side, clientId, stored[clientId], null);
      li.classList.add("pending");
      list.appendChild(li);
    }
  });
  showMarks();
  list.scrollTop = list.scrollHeight; // the newest messages in view (the list scrolls)

  // The page reloads when the consultation starts: the alert (sound, banner, title)
  // comes from the new page, told by this one.
  var alerts = window.pdAlerts;
  var startedKey = "pd-started-" + cid;
  function announceStart(next) {
    if (side === "patient" && next === "active" && (status === "waiting" || status === "scheduled")) {
      sessionStorage.setItem(startedKey, "1");
    }
  }
  if (sessionStorage.getItem(startedKey)) {
    sessionStorage.removeItem(startedKey);
    if (alerts && status === "active") { alerts.notify("started", alerts.t.started, {urgent: true}); }
  }

  var socket = io({transports: ["websocket", "polling"]});
  // For the calls (call.js): the same socket and room; "pd:joined" after every join.
  window.pdRoom = {socket: socket, cid: cid, side: side, status: status};
  socket.on("connect", function () {
    connEl.textContent = t.online;
    socket.emit("join", {consultation: cid, after: lastId}, function (ack) {
      if (!ack || !ack.ok) { connEl.textContent = ack ? ack.error : ""; return; }
      ack.messages.forEach(add);
      marks = ack.marks;
      showMarks();
      if (ack.wait) { showWait(ack.wait); }
      if (ack.status !== status && !leaving) { announceStart(ack.status); location.reload(); return; }
      document.dispatchEvent(new CustomEvent("pd:joined", {detail: ack}));
      var p = pending();
      Object.keys(p).forEach(function (clientId) { send(clientId, p[clientId]); });
      receipts();
    });
  });
  socket.on("disconnect", function () { connEl.textContent = t.offline; });
  socket.on("message", function (m) {
    var fresh = !seen[m.id];
    add(m);
    receipts();
    // Someone who looks elsewhere hears and sees that the other side wrote.
    var away = document.visibilityState !== "visible" || !document.hasFocus();
    if (alerts && fresh && away && m.consultation === cid && m.from !== side && !m.call) {
      alerts.notify("message", alerts.t.message);
    }
  });
  // A patient of another consultation calls this doctor: ring here too, with a link to
  // that room (this room's own calls are call.js's).
  socket.on("ring", function (call) {
    if (!alerts || side !== "doctor" || call.consultation === cid || call.caller !== "patient") { return; }
    alerts.elsewhere(call, call.kind === "video" ? t.ring_video : t.ring_audio, t.open_call);
  });
  socket.on("receipt", function (r) { if (r.consultation === cid) { marks = r.marks; showMarks(); } });
  socket.on("position", function (w) { if (w.consultation === cid) { showWait(w); } });
  socket.on("status", function (s) {
    var answered = s.appointment_status && s.appointment_status !== appointmentStatus;
    if (s.consultation === cid && (s.status !== status || answered) && !leaving) {
      if (textarea && textarea.value) { sessionStorage.setItem(draftKey, textarea.value); }
      announceStart(s.status);
      location.reload();
    }
  });
  socket.on("typing", function (e) {
    if (e.consultation !== cid || e.from === side || !typingEl) { return; }
    typingEl.textContent = e.from === "doctor" ? t.typing_doctor : t.typing_patient;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { typingEl.textContent = ""; }, 4000);
  });
  document.addEventListener("visibilitychange", receipts);

  if (form) {
    var draft = sessionStorage.getItem(draftKey);
    if (draft && !textarea.value) { textarea.value = draft; }
    sessionStorage.removeItem(draftKey);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var body = textarea.value.trim();
      if (!body) { return; }
      var clientId = newId();
      var p = pending(); p[clientId] = body; savePending(p); // kept until the server has it
      var li = messageElement(side, clientId, body, null);
      li.classList.add("pending");
      list.appendChild(li);
      showMarks();
      li.scrollIntoView({block: "nearest"});
      textarea.value = "";
      textarea.focus();
      if (socket.connected) { send(clientId, body); }
    });
    textarea.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        form.requestSubmit();
      }
    });
    textarea.addEventListener("input", function () {
      var now = Date.now();
      if (socket.connected && now - lastTypingSent > 2000) {
        lastTypingSent = now;
        socket.emit("typing", {consultation: cid});
      }
    });
  }
})();
