// Progressive enhancement only: every page works without it. Listeners are delegated
// from the document so that fragments htmx swaps in behave like the first page.
document.addEventListener("click", (event) => {
  const el = event.target.closest("[data-confirm]");
  if (el && !window.confirm(el.dataset.confirm)) event.preventDefault();
});

// A changed filter menu applies at once (through htmx when it is loaded, else a plain GET).
document.addEventListener("change", (event) => {
  const select = event.target.closest("select[data-autosubmit]");
  if (select && select.form) select.form.requestSubmit();
});
