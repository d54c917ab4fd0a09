// The document viewer: zoom and rotate the image or the PDF's page images, by buttons
// or keys (+, −, R, L, 0) when the document has focus.
(function () {
  "use strict";
  var viewer = document.querySelector("[data-viewer]");
  if (!viewer) { return; }
  var t = JSON.parse(viewer.getAttribute("data-i18n"));
  var stage = viewer.querySelector(".viewer-stage");
  var label = viewer.querySelector("[data-zoom-label]");
  var zoom = 1;
  var turn = 0;

  function apply() {
    stage.querySelectorAll("img.page").forEach(function (img) {
      img.style.width = (zoom * 100) + "%";
      img.style.transform = turn ? "rotate(" + turn + "deg)" : "";
      img.classList.toggle("sideways", turn % 180 !== 0);
    });
    label.textContent = t.zoom.replace("{num}", String(Math.round(zoom * 100)));
  }

  var actions = {
    "zoom-in": function () { zoom = Math.min(5, zoom * 1.25); },
    "zoom-out": function () { zoom = Math.max(0.25, zoom / 1.25); },
    "rotate-left": function () { turn = (turn + 270) % 360; },
    "rotate-right": function () { turn = (turn + 90) % 360; },
    "reset": function () { zoom = 1; turn = 0; }
  };
  viewer.querySelectorAll("[data-action]").forEach(function (button) {
    button.addEventListener("click", function () {
      actions[button.getAttribute("data-action")]();
      apply();
    });
  });
  var keys = {"+": "zoom-in", "=": "zoom-in", "-": "zoom-out", "r": "rotate-right",
              "R": "rotate-right", "l": "rotate-left", "L": "rotate-left", "0": "reset"};
  stage.addEventListener("keydown", function (ev) {
    // R and L by their place on the keyboard too (К and Д on a Russian layout).
    var action = keys[ev.key] || {KeyR: "rotate-right", KeyL: "rotate-left"}[ev.code];
    if (!action || ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    ev.preventDefault();
    actions[action]();
    apply();
  });
  apply();
})();
