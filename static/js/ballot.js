// /polls/<id>/: a window poll's ballot on a deputy's own device. The first submit shows a
// summary of the choices to confirm (nothing is sent); "确认投票" sends the ballot once.
// Without this script the form casts directly and the server checks it the same way.
(function () {
  "use strict";
  const form = document.getElementById("ballot-form");
  if (!form) return;
  const entry = document.getElementById("ballot-entry");
  const summary = document.getElementById("ballot-summary");
  const list = document.getElementById("ballot-summary-list");
  const missing = document.getElementById("ballot-missing");
  const confirm = document.getElementById("ballot-confirm");
  const picked = document.getElementById("ballot-picked");
  const select = form.dataset.kind === "select";
  let sending = false;

  function checkedPicks() {
    return Array.from(form.querySelectorAll("input[name=pick]:checked"));
  }

  function showCount() {
    if (picked) picked.textContent = picked.dataset.template.replace("{n}", String(checkedPicks().length));
  }

  // [label, choice] per line, or null (and the unanswered rows marked) when incomplete.
  function lines() {
    if (select) {
      const picks = checkedPicks();
      const low = Number(form.dataset.min) || 1;
      const high = Number(form.dataset.max) || picks.length;
      if (picks.length < low || picks.length > high) return null;
      return picks.map(function (input) {
        return [input.closest("[data-label]").dataset.label, ""];
      });
    }
    let complete = true;
    const result = [];
    form.querySelectorAll("[data-row]").forEach(function (row) {
      const chosen = row.querySelector("input[type=radio]:checked");
      row.classList.toggle("missing", !chosen);
      if (!chosen) complete = false;
      else result.push([row.dataset.label, chosen.nextElementSibling.textContent]);
    });
    return complete ? result : null;
  }

  function review() {
    const chosen = lines();
    if (chosen === null) {
      missing.hidden = false;
      const first = form.querySelector("[data-row].missing") || missing;
      first.scrollIntoView({ block: "center" });
      return;
    }
    missing.hidden = true;
    list.replaceChildren();
    chosen.forEach(function (line) {
      const item = document.createElement("li");
      const label = document.createElement("span");
      label.className = "summary-label";
      label.textContent = line[0];
      item.append(label);
      if (line[1]) {
        const choice = document.createElement("strong");
        choice.className = "summary-choice";
        choice.textContent = line[1];
        item.append(choice);
      }
      list.append(item);
    });
    entry.hidden = true;
    summary.hidden = false;
    summary.scrollIntoView({ block: "start" });
    confirm.focus();
  }

  form.addEventListener("submit", function (event) {
    if (event.submitter === confirm && !summary.hidden) {
      if (sending) event.preventDefault();  // one ballot per page; a resend is a duplicate anyway
      sending = true;
      confirm.setAttribute("aria-busy", "true");
      return;
    }
    event.preventDefault();
    review();
  });

  form.addEventListener("change", function (event) {
    const row = event.target.closest("[data-row]");
    if (row) row.classList.remove("missing");
    if (!missing.hidden && lines() !== null) missing.hidden = true;
    showCount();
  });

  document.getElementById("ballot-back").addEventListener("click", function () {
    summary.hidden = true;
    entry.hidden = false;
  });

  showCount();
})();
