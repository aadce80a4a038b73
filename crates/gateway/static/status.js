// Refreshes the status table in place every two seconds from /api/v1/status.
// Only text is written (never HTML), so nothing a service reports can run as code.
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
          var row = document.querySelector('tr[data-service="' + service.name + '"]');
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
  setInterval(refresh, 2000);
})();
