// The doctor's desk: the queue updates live; a new patient is announced (alerts.js: a
// chime, a banner, a count in the tab's title until the doctor looks at the page).
(function () {
  "use strict";
  var root = document.getElementById("desk");
  if (!root || root.dataset.onShift !== "true" || typeof io === "undefined") { return; }
  var t = JSON.parse(root.dataset.i18n);
  var list = document.getElementById("queue");
  var count = document.getElementById("queue-count");
  var alerts = window.pdAlerts; // alerts.js: the chime, the banner, the title count

  function text(tag, className, value) {
    var el = document.createElement(tag);
    if (className) { el.className = className; }
    el.textContent = value;
    return el;
  }

  // The patient's language, marked when the doctor speaks it (as _queue_language.html).
  function language(parent, c) {
    var cls = c.language_match ? " match" : "";
    var lang = text("span", "queue-lang" + cls, "");
    var abbr = text("abbr", "", c.language.toUpperCase());
    if (c.language_name) { abbr.title = c.language_name; }
    lang.appendChild(abbr);
    parent.appendChild(lang);
    parent.appendChild(document.createTextNode(" "));
    parent.appendChild(text("span", "queue-lang-note" + cls,
      "(" + (c.language_match ? t.match : t.no_match) + ")"));
    if (c.language_match) {
      var tick = text("span", "", " ✓");
      tick.setAttribute("aria-hidden", "true");
      parent.appendChild(tick);
    }
  }

  function render(items) {
    list.textContent = "";
    count.textContent = String(items.length);
    if (!items.length) { list.appendChild(text("li", "muted empty", t.empty)); return; }
    items.forEach(function (c) {
      var li = document.createElement("li");
      li.className = c.red_flag ? "card red-flag" : "card";
      li.dataset.id = c.id;
      if (c.red_flag) { // listed first by the server; marked in words, not only colour
        var flag = text("p", "red-flag-line", "");
        flag.appendChild(text("span", "badge red-flag", t.red_flag));
        flag.appendChild(document.createTextNode(" " + (c.red_flag_signs || []).join(", ")));
        li.appendChild(flag);
      }
      var head = document.createElement("p");
      head.appendChild(text("strong", "", c.age_label));
      head.appendChild(document.createTextNode(
        " · " + (c.product === "child_doctor" ? t.child : t.adult) + " · "));
      language(head, c);
      head.appendChild(document.createTextNode(
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
    if (e.kind === "joined" && alerts) { alerts.notify("queue", e.red_flag ? t.joined_red_flag : t.joined); }
    refresh();
  });
  // A patient calls while the doctor is here, not in the room: the desk rings too, until
  // the call is answered (in the room), declined or over.
  socket.on("ring", function (call) {
    if (!alerts || call.caller !== "patient") { return; }
    alerts.elsewhere(call, call.kind === "video" ? t.ring_video : t.ring_audio, t.open_call);
  });
  setInterval(refresh, 30000); // waiting times move on even when nobody joins
})();
