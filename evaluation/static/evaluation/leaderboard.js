/* Leaderboard charts (Chart.js, served locally): win-rate with 95% intervals per model; accuracy by questions. */
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("leaderboard-data").textContent);
  if (typeof Chart === "undefined") return;

  new Chart(document.getElementById("winrate-chart"), {
    data: {
      labels: data.winrate.map(function (row) { return row.model; }),
      datasets: [
        { type: "bar", label: "95% interval", backgroundColor: "rgba(31,111,235,.25)",
          data: data.winrate.map(function (row) { return [row.low, row.high]; }) },
        { type: "line", label: "win-rate", showLine: false, pointRadius: 5, backgroundColor: "#1f6feb",
          data: data.winrate.map(function (row) { return row.value; }) },
      ],
    },
    options: { maintainAspectRatio: false, scales: { y: { min: 0, max: 1 } },
               plugins: { title: { display: true, text: "Win-rate (judge; ties as half)" } } },
  });

  const palette = ["#1f6feb", "#cf222e", "#1a7f37", "#8250df", "#bf8700", "#0a7ea4", "#6e7781"];
  new Chart(document.getElementById("curve-chart"), {
    type: "line",
    data: {
      datasets: data.curves.map(function (curve, index) {
        return { label: curve.label, data: curve.points, borderColor: palette[index % palette.length],
                 backgroundColor: palette[index % palette.length], tension: 0 };
      }),
    },
    options: { maintainAspectRatio: false, parsing: true,
               scales: { x: { type: "linear", title: { display: true, text: "questions asked" } },
                         y: { min: 0, max: 1, title: { display: true, text: "accuracy" } } },
               plugins: { title: { display: true, text: "Accuracy of the expert's letter after k answers" } } },
  });
})();
