// /manage/hearings/<id>/polls/: show the parts of the form that fit the chosen kind, and the
// custom scale's lines only when "自定义" is chosen. Without this script every part shows.
(function () {
  "use strict";
  const form = document.getElementById("poll-form");
  if (!form) return;

  function update() {
    const kind = (form.querySelector("input[name=kind]:checked") || {}).value || "sheet";
    form.querySelectorAll("[data-kinds]").forEach(function (part) {
      part.hidden = part.dataset.kinds.split(" ").indexOf(kind) < 0;
    });
    const scale = (form.querySelector("input[name=scale]:checked") || {}).value;
    const custom = document.getElementById("field-custom_choices");
    if (custom) custom.hidden = scale !== "custom";
  }

  form.addEventListener("change", update);
  update();
})();
