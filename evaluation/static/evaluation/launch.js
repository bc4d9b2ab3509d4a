// Suggest endpoint and case-set names in the free-text fields (they also take a folder or a file path).
// A file, not an inline script: the Content-Security-Policy allows none.
document.querySelectorAll("input[name$='-model'], input[name$='-expert'], input[name$='-patient_model'], input[name$='-reference'], input[name$='-judge']")
  .forEach(function (input) { input.setAttribute("list", "endpoint-names"); });
document.querySelectorAll("input[name$='-cases']").forEach(function (input) { input.setAttribute("list", "case-set-names"); });
