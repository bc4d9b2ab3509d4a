// Behaviour every page shares, kept out of the templates so the Content-Security-Policy allows no inline handlers.
// A <select data-autosubmit> submits its form when it changes (the filters of the gold and adjudication lists).
document.addEventListener("change", function (event) {
  var target = event.target;
  if (target.matches && target.matches("select[data-autosubmit]") && target.form) target.form.submit();
});
