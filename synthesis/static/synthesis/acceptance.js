// Draw the acceptance-rate bar chart from the JSON the page embeds (no inline data, no CDN).
(function () {
  const canvas = document.getElementById("acceptance-chart");
  const source = document.getElementById("acceptance-data");
  if (!canvas || !source || typeof Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  new Chart(canvas, {
    type: "bar",
    data: data,
    options: {
      responsive: true,
      scales: { y: { min: 0, max: 100, title: { display: true, text: "accepted by the judge (%)" } } },
      plugins: { legend: { position: "bottom" } },
    },
  });
})();
