// The room's documents panel: reloaded when a document is uploaded in the consultation
// or reviewed (the "documents" socket event, after room.js joined the room).
(function () {
  "use strict";
  // A specialist consultation's room opens five minutes before the start: reload then.
  var scheduled = document.getElementById("scheduled");
  if (scheduled) {
    var wait = parseInt(scheduled.getAttribute("data-opens-in"), 10) || 0;
    setTimeout(function () { window.location.reload(); }, Math.min(wait, 60) * 1000 + 1000);
  }
  // The appointments panel works the same way, on the "appointment" event.
  var booked = document.getElementById("appointments-panel");
  if (booked) {
    var bookedList = document.getElementById("appointments-list");
    document.addEventListener("pd:joined", function () {
      if (booked.dataset.bound || !window.pdRoom) { return; }
      booked.dataset.bound = "1";
      window.pdRoom.socket.on("appointment", function (e) {
        if (e.consultation !== window.pdRoom.cid) { return; }
        fetch(booked.getAttribute("data-panel-url"), {credentials: "same-origin"})
          .then(function (r) {
            if (r.redirected) { window.location.reload(); return null; }
            return r.ok ? r.text() : null;
          })
          .then(function (html) {
            if (html !== null) { bookedList.innerHTML = html; booked.hidden = false; }
          })
          .catch(function () { /* a reload brings it */ });
      });
    });
  }
  var panel = document.getElementById("documents-panel");
  if (!panel) { return; }
  var list = document.getElementById("documents-list");
  var url = panel.getAttribute("data-panel-url");
  var bound = false;

  function refresh() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (r) {
        if (r.redirected) { window.location.reload(); return null; } // signed out: the page says so
        return r.ok ? r.text() : null;
      })
      .then(function (html) { if (html !== null) { list.innerHTML = html; } })
      .catch(function () { /* the next event or a reload brings it */ });
  }

  document.addEventListener("pd:joined", function () {
    if (bound || !window.pdRoom) { return; }
    bound = true;
    window.pdRoom.socket.on("documents", function (e) {
      if (e.consultation === window.pdRoom.cid) { refresh(); }
    });
    refresh();  // anything uploaded while this page was away
  });
  panel.addEventListener("pd:uploaded", refresh);
})();
