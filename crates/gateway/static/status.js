// Keeps the status page live.
// - Every two seconds: the health table, from /api/v1/status. Only text is written
//   (never HTML), so nothing a service reports can run as code.
// - Every five seconds: the graphs, the map, the orders and the consumers, by fetching
//   this same page and swapping in its #live-graphs section. That HTML was rendered and
//   escaped by the gateway; a parsed document runs no script.
"use strict";
(function () {
  function refresh() {
    fetch("/api/v1/status", { headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (report) {
        if (!report) { return; }
        document.getElementById("serving").textContent = String(report.serving);
        document.getElementById("checked-at").textContent = report.checked_at;
        report.services.forEach(function (service) {
          var row = document.querySelector('#status-table tr[data-service="' + service.name + '"]');
          if (!row) { return; }
          var state = row.querySelector('[data-field="state"]');
          state.textContent = service.state;
          state.className = "health " + service.state;
          row.querySelector('[data-field="latency"]').textContent =
            service.latency_ms === null ? "—" : service.latency_ms.toFixed(1) + " ms";
        });
      })
      .catch(function () { /* the gateway itself is away: try again next time */ });
  }
  function redraw() {
    fetch("/status", { headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("live-graphs");
        var shown = document.getElementById("live-graphs");
        if (fresh && shown) { shown.replaceWith(document.importNode(fresh, true)); }
      })
      .catch(function () { /* try again next time */ });
  }
  setInterval(refresh, 2000);
  setInterval(redraw, 5000);
})();
