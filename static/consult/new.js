// The request form: the fever question is for a child under 3 months only, so it shows
// while such a child is chosen. Without this script it is always shown (the server
// ignores the answer for anyone older).
(function () {
  "use strict";
  var form = document.getElementById("request-form");
  var question = form && form.querySelector("[data-infant-only]");
  if (!question) { return; }
  var infants = (form.dataset.infants || "").split(",").filter(Boolean);

  function update() {
    var chosen = form.querySelector("input[name=insured_id]:checked");
    var show = !!chosen && infants.indexOf(chosen.value) !== -1;
    question.hidden = !show;
    question.querySelectorAll("input").forEach(function (input) { input.disabled = !show; });
  }
  form.querySelectorAll("input[name=insured_id]").forEach(function (radio) {
    radio.addEventListener("change", update);
  });
  update();
})();
