// The doctor's desk: the queue updates live; a new patient rings and shows a badge
// in the tab title until the doctor looks at the page.
(function () {
  "use strict";
  var root = document.getElementById("desk");
  if (!root || root.dataset.onShift !== "true" || typeof io === "undefined") { return; }
  var t = JSON.parse(root.dataset.i18n);
  var list = document.getElementById("queue");
  var count = document.getElementById("queue-count");
  var alertEl = document.getElementById("queue-alert");
  var baseTitle = document.title;
  var unseen = 0;
  var audio = null;

  // Browsers allow sound only after the page was used once: any click or key unlocks it.
  function unlock() {
    if (!audio && (window.AudioContext || window.webkitAudioContext)) {
      audio = new (window.AudioContext || window.webkitAudioContext)();
    }
    if (audio && audio.state === "suspended") { audio.resume(); }
  }
  document.addEventListener("click", unlock);
  document.addEventListener("keydown", unlock);
  var soundButton = document.getElementById("sound");
  if (soundButton) {
    soundButton.addEventListener("click", function () {
      unlock();
      ring(); // a test ring: the doctor hears what a new patient sounds like
      soundButton.textContent = soundButton.dataset.on;
      soundButton.setAttribute("aria-pressed", "true");
    });
  }

  function ring() {
    if (!audio) { return; }
    [0, 0.25].forEach(function (delay) {
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.2, audio.currentTime + delay);
      gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + delay + 0.2);
      osc.connect(gain).connect(audio.destination);
      osc.start(audio.currentTime + delay);
      osc.stop(audio.currentTime + delay + 0.2);
    });
  }

  function badge() {
    document.title = unseen ? "(" + unseen + ") " + baseTitle : baseTitle;
  }
  function seenAll() {
    if (document.visibilityState === "visible" && document.hasFocus()) { unseen = 0; badge(); }
  }
  window.addEventListener("focus", function () { unseen = 0; badge(); });
  document.addEventListener("visibilitychange", seenAll);

  function text(tag, className, value) {
    var el = document.createElement(tag);
    if (className) { el.className = className; }
    el.textContent = value;
    return el;
  }

  function render(items) {
    list.textContent = "";
    count.textContent = String(items.length);
    if (!items.length) { list.appendChild(text("li", "muted empty", t.empty)); return; }
    items.forEach(function (c) {
      var li = document.createElement("li");
      li.className = "card";
      li.dataset.id = c.id;
      var head = document.createElement("p");
      head.appendChild(text("strong", "", c.age_label));
      head.appendChild(document.createTextNode(
        " · " + (c.product === "child_doctor" ? t.child : t.adult) + " · " + c.language.toUpperCase() +
        " · " + (t.channels[c.channel] || c.channel) + " · " + t.waiting + " " + Math.floor(c.waiting_seconds / 60) + " " + t.min));
      li.appendChild(head);
      li.appendChild(text("p", "text", c.complaint));
      var form = document.createElement("form");
      form.method = "post";
      form.action = root.dataset.takeUrl.replace("/0/", "/" + c.id + "/");
      var csrf = document.createElement("input");
      csrf.type = "hidden"; csrf.name = "csrf_token"; csrf.value = root.dataset.csrf;
      form.appendChild(csrf);
      var button = text("button", "button", t.take);
      button.type = "submit";
      form.appendChild(button);
      li.appendChild(form);
      list.appendChild(li);
    });
  }

  function refresh() {
    fetch(root.dataset.queueUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) { render(data.items); } });
  }

  var socket = io({transports: ["websocket", "polling"]});
  socket.on("connect", refresh);
  socket.on("queue", function (e) {
    // A specialist appointment needs a new time (asked for, or missed): the page lists it.
    if (e.kind === "new_time" || e.kind === "no_show") { window.location.reload(); return; }
    if (e.kind === "joined") {
      ring();
      alertEl.textContent = t.joined;
      if (!(document.visibilityState === "visible" && document.hasFocus())) { unseen += 1; badge(); }
    }
    refresh();
  });
  setInterval(refresh, 30000); // waiting times move on even when nobody joins
})();
