// The operator's live view: fetch the figures every 5 seconds. The page renders them
// first; durations use the page's translated patterns (data-i18n).
(function () {
  "use strict";
  var root = document.getElementById("operator");
  if (!root) { return; }
  var t = JSON.parse(root.dataset.i18n);

  function duration(seconds) {
    if (seconds === null || seconds === undefined) { return "—"; }
    var m = Math.floor(seconds / 60), s = seconds % 60;
    if (m >= 60) {
      return t.h_min.replace("{h}", String(Math.floor(m / 60))).replace("{min}", String(m % 60));
    }
    return t.min_sec.replace("{min}", String(m)).replace("{sec}", String(s));
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
  setInterval(refresh, 5000);
})();
