// The operator's live view: fetch the figures every 5 seconds.
(function () {
  "use strict";
  var root = document.getElementById("operator");
  if (!root) { return; }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) { return "—"; }
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return m >= 60 ? Math.floor(m / 60) + " h " + (m % 60) + " min" : m + " min " + s + " s";
  }

  function show(stats) {
    root.querySelectorAll("[data-stat]").forEach(function (el) {
      var key = el.dataset.stat;
      if (!(key in stats)) { return; }
      el.textContent = el.dataset.format === "duration" ? duration(stats[key]) : String(stats[key]);
    });
  }

  function refresh() {
    fetch(root.dataset.url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (stats) { if (stats) { show(stats); } })
      .catch(function () { /* the next tick tries again */ });
  }
  root.querySelectorAll('[data-format="duration"]').forEach(function (el) {
    var n = Number(el.textContent);
    if (!isNaN(n) && el.textContent.trim() !== "—") { el.textContent = duration(n); }
  });
  setInterval(refresh, 5000);
})();
