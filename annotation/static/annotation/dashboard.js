/* Dashboard charts (Chart.js, served locally): alpha with 95% intervals per attribute; left-share per annotator. */
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("chart-data").textContent);
  const select = document.getElementById("campaign-select");
  if (select) {
    select.addEventListener("change", function () {
      const attribute = document.querySelector("select[name=attribute]").value;
      window.location = select.value + (attribute ? "?attribute=" + encodeURIComponent(attribute) : "");
    });
    select.removeAttribute("name");  // the form filters attributes; the campaign is in the URL
  }
  if (typeof Chart === "undefined") return;

  new Chart(document.getElementById("agreement-chart"), {
    data: {
      labels: data.labels,
      datasets: [
        { type: "bar", label: "α 95% interval", data: data.alphaCi, backgroundColor: "rgba(31,111,235,.25)" },
        { type: "line", label: "Krippendorff's α", data: data.alpha, showLine: false, pointRadius: 5,
          backgroundColor: "#1f6feb" },
        { type: "line", label: "Cohen's κ", data: data.kappa, showLine: false, pointRadius: 4, pointStyle: "rectRot",
          backgroundColor: "#8250df" },
      ],
    },
    options: { maintainAspectRatio: false, scales: { y: { min: -1, max: 1 } },
               plugins: { title: { display: true, text: "Agreement per attribute" } } },
  });

  new Chart(document.getElementById("bias-chart"), {
    type: "bar",
    data: {
      labels: data.bias.map(function (row) { return row.label; }),
      datasets: [{
        label: "Share of left choices",
        data: data.bias.map(function (row) { return row.share; }),
        backgroundColor: data.bias.map(function (row) { return row.flagged ? "#cf222e" : "#1a7f37"; }),
      }],
    },
    options: { maintainAspectRatio: false, scales: { y: { min: 0, max: 1 } },
               plugins: { title: { display: true, text: "Position bias (red: significantly away from 50%)" } } },
  });
})();
