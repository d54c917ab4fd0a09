// The account menu (base.html): a <details> that folds the links on a phone. On wide
// screens it stays open with no button; Escape or a tap elsewhere closes it on a phone.
(function () {
  "use strict";
  var menu = document.getElementById("menu");
  if (!menu) { return; }
  var wide = window.matchMedia("(min-width: 48rem)");
  function fit() {
    menu.classList.toggle("static", wide.matches);
    menu.open = wide.matches;
  }
  fit();
  wide.addEventListener("change", fit);
  document.addEventListener("click", function (ev) { // a tap elsewhere folds it again
    if (menu.open && !wide.matches && !menu.contains(ev.target)) { menu.open = false; }
  });
  menu.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape" && menu.open && !wide.matches) {
      menu.open = false;
      menu.querySelector("summary").focus();
    }
  });
})();
