// Being reached while the page is open (room and desk): a sound played by an <audio>
// element (a chime, or a ringtone that loops until stopped), a vibration where the
// device has one, a count in the tab's title while the page is not looked at, and a
// banner in the page. "Silence alerts" (remembered on this device) turns off sound and
// vibration; the banner and the title still show. Other scripts call window.pdAlerts.
(function () {
  "use strict";
  var root = document.getElementById("alerts");
  if (!root) { return; }
  var t = JSON.parse(root.dataset.i18n);
  var chime = document.getElementById("alert-chime");
  var ringer = document.getElementById("alert-ring");
  var banners = document.getElementById("alert-banners");
  var toggles = document.querySelectorAll(".alert-silence");
  var storeKey = "pd-alerts-silent";
  var baseTitle = document.title;
  var unseen = 0;
  var rings = {};        // key → true while that ring goes on
  var vibrateTimer = null;
  var primed = false;

  function silent() {
    try { return localStorage.getItem(storeKey) === "1"; } catch (e) { return false; }
  }
  function lookedAt() { return document.visibilityState === "visible" && document.hasFocus(); }
  function ringing() { return Object.keys(rings).length > 0; }

  function title() {
    document.title = (ringing() ? "\u260E " : "") + (unseen ? "(" + unseen + ") " : "") + baseTitle;
  }
  function seen() {
    if (lookedAt() && unseen) { unseen = 0; title(); }
  }
  window.addEventListener("focus", seen);
  document.addEventListener("visibilitychange", seen);

  // Browsers allow vibration only after the person used the page; asking before that
  // only logs a warning.
  function vibrate(pattern) {
    if (!navigator.vibrate) { return; }
    if (navigator.userActivation && !navigator.userActivation.hasBeenActive) { return; }
    try { navigator.vibrate(pattern); } catch (e) { /* not allowed here */ }
  }

  // play() is refused before the person used the page (autoplay rules): the banner
  // still shows, with a button that plays the sound from their tap.
  function play(audio) {
    if (silent()) { return; }
    audio.currentTime = 0;
    var started = audio.play();
    if (started && started.catch) {
      started.catch(function (err) {
        if (err && err.name === "NotAllowedError") { offerSound(audio); }
      });
    }
  }

  function offerSound(audio) {
    if (banners.querySelector('[data-kind="sound"]')) { return; }
    show("sound", t.blocked, {urgent: false, action: {label: t.allow_sound, run: function () {
      primeAll();
      if (audio === ringer ? ringing() : true) { play(audio); }
      dismiss("sound");
    }}});
  }

  // iOS lets an <audio> play by itself only once it was started from a tap: start both
  // silently at the first touch or key, so later alerts can sound.
  function primeAll() {
    if (primed) { return; }
    primed = true;
    [chime, ringer].forEach(function (audio) {
      if (!audio.paused) { return; }
      audio.muted = true;
      var p = audio.play();
      var back = function () {
        if (audio === ringer && ringing()) { audio.muted = false; return; } // a ring began meanwhile
        audio.pause(); audio.currentTime = 0; audio.muted = false;
      };
      if (p && p.then) { p.then(back, function () { audio.muted = false; }); } else { back(); }
    });
  }
  document.addEventListener("pointerdown", primeAll, {capture: true, once: true});
  document.addEventListener("keydown", primeAll, {capture: true, once: true});

  function dismiss(kind) {
    var old = banners.querySelector('[data-kind="' + kind + '"]');
    if (old) { old.remove(); }
  }

  // One banner per kind: a newer one of the same kind replaces it.
  function show(kind, text, opts) {
    opts = opts || {};
    dismiss(kind);
    var box = document.createElement("div");
    box.className = "alert-banner" + (opts.urgent ? " urgent" : "");
    box.dataset.kind = kind;
    box.setAttribute("role", opts.urgent ? "alert" : "status");
    var p = document.createElement("p");
    p.textContent = text;
    box.appendChild(p);
    var buttons = document.createElement("div");
    buttons.className = "alert-banner-actions";
    if (opts.action) {
      var act = document.createElement("button");
      act.type = "button";
      act.className = "button";
      act.textContent = opts.action.label;
      act.addEventListener("click", opts.action.run);
      buttons.appendChild(act);
    }
    var close = document.createElement("button");
    close.type = "button";
    close.className = "button secondary";
    close.textContent = t.dismiss;
    close.addEventListener("click", function () {
      if (opts.onDismiss) { opts.onDismiss(); }
      box.remove();
    });
    buttons.appendChild(close);
    box.appendChild(buttons);
    banners.appendChild(box);
    return box;
  }

  function showToggles() {
    var on = silent();
    toggles.forEach(function (b) {
      b.hidden = false;
      b.setAttribute("aria-pressed", on ? "true" : "false");
    });
  }
  toggles.forEach(function (b) {
    b.addEventListener("click", function () {
      var on = !silent();
      try { localStorage.setItem(storeKey, on ? "1" : "0"); } catch (e) { /* private mode */ }
      if (on) { ringer.pause(); vibrate(0); }
      else if (ringing()) { play(ringer); }
      showToggles();
    });
  });
  showToggles();

  window.pdAlerts = {
    /** Something happened (the doctor took the patient, a message, a new patient):
     * a short chime and buzz, a count in the title if the page is not looked at, and a
     * banner of this kind with the text (opts.urgent: announced at once). */
    notify: function (kind, text, opts) {
      play(chime);
      if (!silent()) { vibrate([200, 100, 200]); }
      if (!lookedAt()) { unseen += 1; title(); }
      return show(kind, text, opts);
    },
    /** A call rings: the ringtone repeats and the device buzzes until stop(key). */
    ring: function (key, text, opts) {
      if (rings[key]) { return; }
      rings[key] = true;
      ringer.loop = true;
      play(ringer);
      if (!silent()) {
        vibrate([400, 200, 400]);
        clearInterval(vibrateTimer);
        vibrateTimer = setInterval(function () { if (!silent()) { vibrate([400, 200, 400]); } }, 2400);
      }
      title();
      // Dismissing the banner silences this ring; the call still waits for an answer.
      show("ring-" + key, text, Object.assign({urgent: true, onDismiss: function () {
        window.pdAlerts.stop(key);
      }}, opts || {}));
    },
    /** The call was answered, declined or ended: silence and take the banner away. */
    stop: function (key) {
      if (!rings[key]) { return; }
      delete rings[key];
      dismiss("ring-" + key);
      if (!ringing()) {
        ringer.pause();
        ringer.currentTime = 0;
        clearInterval(vibrateTimer);
        vibrate(0);
      }
      title();
    },
    /** A patient's call heard on another page (the desk, another room): rings with a
     * link to its room until it is answered, declined or over, or the ring runs out
     * (60 s, as consult/calls.py RING_SECONDS: a vanished caller never hangs up). */
    elsewhere: function (call, text, openLabel) {
      var key = "elsewhere-call-" + call.id;
      if (call.status !== "ringing") { window.pdAlerts.stop(key); return; }
      window.pdAlerts.ring(key, text, {action: {label: openLabel, run: function () {
        window.location.href = call.url;
      }}});
      setTimeout(function () { window.pdAlerts.stop(key); },
                 Math.max(0, 60000 - (call.ringing_for || 0) * 1000));
    },
    dismiss: dismiss,
    t: t,
    get silent() { return silent(); }
  };
})();
