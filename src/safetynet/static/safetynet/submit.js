// A select marked data-submit sends its form when changed (the language, a filter): a file of its own,
// since the Content-Security-Policy runs no inline script.
document.addEventListener("change", (event) => {
  const select = event.target.closest("select[data-submit]");
  if (select && select.form) select.form.submit();
});
