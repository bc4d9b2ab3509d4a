// Bring the question under study into view (a file, not an inline script: the Content-Security-Policy).
document.addEventListener("DOMContentLoaded", function () {
  var mark = document.querySelector(".chat mark.study");
  if (mark) mark.scrollIntoView({block: "center"});
});
