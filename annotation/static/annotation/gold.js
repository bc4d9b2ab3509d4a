/* Gold labelling helpers: time the blind answer; strip bullets and drop flagged meta-facts in the facts box. */
(function () {
  "use strict";
  const started = performance.now();
  const blind = document.getElementById("blind-form");
  if (blind) {
    blind.addEventListener("submit", function () {
      document.getElementById("blind-time").value = Math.round(performance.now() - started);
    });
  }
  const box = document.querySelector("#facts-form textarea[name=atomic_facts]");
  if (!box) return;
  const facts = JSON.parse(document.getElementById("facts-data").textContent || "[]");
  const bullet = /^\s*(?:[-*\u2022]|\d+[.)])\s+/;
  document.getElementById("strip-bullets").addEventListener("click", function () {
    box.value = box.value.split("\n").map(function (line) { return line.replace(bullet, "").trim(); }).join("\n");
  });
  document.getElementById("drop-meta").addEventListener("click", function () {
    const plain = function (text) { return text.replace(bullet, "").trim(); };
    const meta = new Set(facts.filter(function (f) { return f.meta; }).map(function (f) { return plain(f.text); }));
    box.value = box.value.split("\n").filter(function (line) { return !meta.has(plain(line)); }).join("\n");
  });
})();
