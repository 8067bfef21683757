// The office's roster picker (templates/office/hearing_detail.html): a quick filter over the
// deputies by name or delegation, select all / none per delegation (the people the filter
// shows), and how many are ticked. Without it the page still works: plain checkboxes.

function update(fieldset) {
  const count = document.querySelector(`[data-roster-count="${fieldset.id}"]`);
  if (!count) return;
  const n = fieldset.querySelectorAll("input[type=checkbox]:checked").length;
  count.textContent = interpolate(ngettext("已选 %(n)s 人", "已选 %(n)s 人", n), { n }, true);
}

for (const input of document.querySelectorAll("[data-roster-filter]")) {
  const fieldset = document.getElementById(input.dataset.rosterFilter);
  if (!fieldset) continue;
  update(fieldset);
  fieldset.addEventListener("change", () => update(fieldset));
  input.addEventListener("input", () => {
    const words = input.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    for (const group of fieldset.querySelectorAll("[data-roster-group]")) {
      let shown = 0;
      for (const item of group.querySelectorAll("[data-roster-text]")) {
        const text = item.dataset.rosterText.toLowerCase();
        const match = words.every((word) => text.includes(word));
        item.hidden = !match;
        if (match) shown += 1;
      }
      group.hidden = shown === 0;
    }
  });
}

document.addEventListener("click", (event) => {
  const button = event.target instanceof Element ? event.target.closest("[data-roster-all], [data-roster-none]") : null;
  if (!button) return;
  const group = button.closest("[data-roster-group]");
  const checked = button.hasAttribute("data-roster-all");
  for (const item of group.querySelectorAll("[data-roster-text]")) {
    if (item.hidden) continue;
    const box = item.querySelector("input[type=checkbox]");
    if (box && !box.disabled) box.checked = checked;
  }
  const fieldset = group.closest("fieldset");
  if (fieldset) update(fieldset);
});
