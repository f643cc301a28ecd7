/* Operator console: live SLA countdowns, times in the viewer's time zone (UTC on hover) and
   export progress. Served as a static file: the Content-Security-Policy allows no inline script. */
(function () {
  "use strict";

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function span(seconds) {
    seconds = Math.floor(Math.abs(seconds));
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    return (h ? h + ":" + pad(m) : pad(m)) + ":" + pad(s);
  }

  function utcText(date) {
    return date.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
  }

  function localTimes(root) {
    var nodes = root.querySelectorAll("time.console-local");
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
    for (var i = 0; i < nodes.length; i++) {
      var date = new Date(nodes[i].getAttribute("datetime"));
      if (isNaN(date.getTime())) { continue; }
      nodes[i].textContent = date.toLocaleString(undefined, {
        year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short"
      });
      nodes[i].title = utcText(date) + (zone ? " (" + zone + ")" : "");
    }
  }

  function tick() {
    var nodes = document.querySelectorAll("time.console-countdown");
    var now = Date.now();
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      var due = new Date(node.getAttribute("data-countdown")).getTime();
      if (isNaN(due)) { continue; }
      var left = (due - now) / 1000;
      if (left >= 0) {  // breached only strictly after the due instant, as the SLA records say
        node.textContent = span(left) + " " + (node.getAttribute("data-left") || "left");
        node.classList.remove("breached");
      } else {
        node.textContent = (node.getAttribute("data-overdue") || "overdue by") + " " + span(left);
        node.classList.add("breached");
      }
      if (!node.getAttribute("data-utc-title")) {
        var local = new Date(due);
        node.title = utcText(local) + " — " + local.toLocaleString();
        node.setAttribute("data-utc-title", "1");
      }
    }
  }

  function pollExports() {
    var rows = document.querySelectorAll("[data-export-poll]");
    for (var i = 0; i < rows.length; i++) { watch(rows[i]); }
  }

  function watch(row) {
    var url = row.getAttribute("data-export-poll");
    function set(sel, text) {
      var el = row.querySelector(sel);
      if (el) { el.textContent = text; }
    }
    function once() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          var bar = row.querySelector("progress");
          if (bar) {
            bar.max = data.rows_total || 1;
            bar.value = data.rows_total ? data.rows_done : 0;
          }
          set(".export-rows", data.rows_done + " / " + (data.rows_total === null ? "?" : data.rows_total));
          set(".export-status", data.status);
          if (data.sha256) { set(".export-sha", data.sha256); }
          if (data.status === "done" || data.status === "failed") {
            row.removeAttribute("data-export-poll");
            var link = row.querySelector(".export-download");
            if (link && data.status === "done") { link.hidden = false; }
            return;
          }
          setTimeout(once, 1500);
        })
        .catch(function () { setTimeout(once, 5000); });
    }
    once();
  }

  /* The timeline-export admin list: its "progress" column ("done / total") becomes a bar, and
     queued or running rows follow the export API like the incident page does. */
  function exportChangelist() {
    if (!document.body.classList.contains("model-timelineexport") ||
        !document.body.classList.contains("change-list")) { return; }
    var rows = document.querySelectorAll("#result_list tbody tr");
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i];
      var cell = row.querySelector("td.field-progress");
      var link = row.querySelector("th a, td a");
      var match = link && /\/(\d+)\/change\//.exec(link.getAttribute("href") || "");
      if (!cell || !match) { continue; }
      var parts = cell.textContent.split("/");
      var done = parseInt(parts[0], 10), total = parseInt(parts[1], 10);
      cell.textContent = "";
      var bar = document.createElement("progress");
      bar.max = total > 0 ? total : 1;
      bar.value = total > 0 ? done : 0;
      var text = document.createElement("small");
      text.className = "export-rows";
      text.textContent = " " + done + " / " + (isNaN(total) ? "?" : total);
      cell.appendChild(bar);
      cell.appendChild(text);
      row.classList.add("console-progress");
      var status = row.querySelector("td.field-status");
      if (status) {
        status.classList.add("export-status");
        var state = status.textContent.trim();
        if (state === "queued" || state === "running") {
          row.setAttribute("data-export-poll", "/api/v1/exports/" + match[1] + "/");
        }
      }
    }
  }

  function start() {
    localTimes(document);
    tick();
    setInterval(tick, 1000);
    exportChangelist();
    pollExports();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
