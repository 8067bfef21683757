// The collection page (问题征集): the count of characters against the server's limit (the
// textarea's data-max, core/limits.py's QUESTION_TEXT), and one submission per tap (the form's
// token makes a resend harmless anyway).
const text = document.getElementById("collect-text");
const count = document.getElementById("collect-count");
const form = document.getElementById("collect-form");

if (text && count) {
  const max = Number(count.dataset.max);
  const counted = () => {
    const n = text.value.trim().length;
    count.textContent = `${n} / ${max}`;
    count.classList.toggle("over", n > max);
  };
  text.addEventListener("input", counted);
  counted();
}

if (form) {
  form.addEventListener("submit", () => {
    const submit = document.getElementById("collect-submit");
    // After the browser has taken the form's data: a disabled button is not sent, nor needed.
    if (submit) setTimeout(() => { submit.disabled = true; }, 0);
  });
}
