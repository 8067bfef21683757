// A button marked data-print prints the page (no inline onclick: the Content-Security-Policy
// allows only script files of our own).
document.addEventListener("click", (event) => {
  if (event.target instanceof Element && event.target.closest("[data-print]")) window.print();
});
