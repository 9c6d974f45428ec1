/* Live monitoring in the browser: charts (vendored uPlot), chart points from the websocket, sortable tables.
 *
 * The htmx ws extension applies the HTML messages (out-of-band swaps). JSON messages,
 * {"task": pk, "points": [{"t": epoch seconds, "<DMS metric name>": value, ...}]}, are caught here before
 * htmx sees them and appended to that task's charts. No polling: everything arrives on the socket.
 */
(function () {
  "use strict";

  var COLORS = ["#0972d3", "#d45b07", "#037f0c", "#8456ce", "#c33d69"];
  var charts = {};  // task pk -> [{plot, names, data, el}]
  // `connected`: a socket is open. Pages keep a fallback poll filtered on it (hx-trigger "every 3s
  // [!(window.dmsLive && dmsLive.connected)]"), so they send no periodic request while pushes arrive.
  var live = window.dmsLive = { charts: charts, connected: false, sockets: 0 };

  function fmt(value) {
    return value === null || value === undefined ? "–" : Number(value).toFixed(2);
  }

  // ---- charts ---------------------------------------------------------------------------------------
  function initMonitoring(root) {
    var task = root.getAttribute("data-task");
    var windowSeconds = Number(root.getAttribute("data-window"));
    var source = document.getElementById("task-" + task + "-series");
    var series = source ? JSON.parse(source.textContent) : { t: [] };
    (charts[task] || []).forEach(function (c) { c.plot.destroy(); });
    charts[task] = [];
    root.querySelectorAll("[data-chart]").forEach(function (el, i) {
      var names = JSON.parse(el.getAttribute("data-series"));
      var data = [series.t.slice()].concat(names.map(function (n) { return (series[n] || []).slice(); }));
      var opts = {
        width: Math.max(el.clientWidth, 300), height: 200,
        legend: { show: false },
        scales: { x: { time: true, range: function () {
          var now = Date.now() / 1000;
          return [now - windowSeconds, now];
        } } },
        axes: [{}, { label: el.getAttribute("data-unit"), size: 60 }],
        series: [{}].concat(names.map(function (n, j) {
          return { label: n, stroke: COLORS[j % COLORS.length], width: 2, spanGaps: true, points: { show: false } };
        })),
      };
      var chart = { plot: new uPlot(opts, data, el), names: names, data: data, el: el, windowSeconds: windowSeconds };
      el.setAttribute("data-points", String(data[0].length));
      if (window.ResizeObserver) {  // a chart in a hidden tab gets its width when the tab opens
        new ResizeObserver(function () {
          if (el.clientWidth > 0) chart.plot.setSize({ width: el.clientWidth, height: 200 });
        }).observe(el);
      }
      charts[task].push(chart);
    });
  }

  function appendPoints(task, points) {
    (charts[task] || []).forEach(function (chart) {
      var data = chart.data;
      var last = data[0].length ? data[0][data[0].length - 1] : -Infinity;
      points.forEach(function (point) {
        if (point.t <= last) return;  // already drawn (a reconnect sends recent points again)
        last = point.t;
        data[0].push(point.t);
        chart.names.forEach(function (name, j) {
          data[j + 1].push(point[name] === undefined ? null : point[name]);
        });
      });
      var oldest = Date.now() / 1000 - chart.windowSeconds;
      while (data[0].length && data[0][0] < oldest) data.forEach(function (column) { column.shift(); });
      chart.plot.setData(data);
      chart.el.setAttribute("data-points", String(data[0].length));
    });
    var latest = points[points.length - 1];
    if (!latest) return;
    Object.keys(latest).forEach(function (name) {
      var cell = document.getElementById("task-" + task + "-metric-" + name);
      if (cell) cell.textContent = fmt(latest[name]);
    });
  }

  // ---- sortable tables --------------------------------------------------------------------------------
  function sortRows(table) {
    var th = table.querySelector("th[aria-sort=ascending], th[aria-sort=descending]");
    if (!th) return;
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var numeric = th.classList.contains("num");
    var direction = th.getAttribute("aria-sort") === "ascending" ? 1 : -1;
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).filter(function (row) { return row.cells.length > 1; });
    rows.sort(function (a, b) {
      var x = a.cells[index] ? a.cells[index].textContent.trim() : "";
      var y = b.cells[index] ? b.cells[index].textContent.trim() : "";
      var order = numeric ? (parseFloat(x) || 0) - (parseFloat(y) || 0) : x.localeCompare(y);
      return order * direction;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("table[data-sortable] th button.sort");
    if (!button) return;
    var th = button.closest("th");
    var table = th.closest("table");
    var next = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
    table.querySelectorAll("th[aria-sort]").forEach(function (other) { other.setAttribute("aria-sort", "none"); });
    th.setAttribute("aria-sort", next);
    sortRows(table);
  });

  // ---- wiring -----------------------------------------------------------------------------------------
  document.addEventListener("htmx:load", function (event) {
    var elt = event.detail.elt;
    if (!elt || !elt.querySelectorAll) return;
    var roots = elt.matches && elt.matches("[data-monitoring]") ? [elt] : [];
    elt.querySelectorAll("[data-monitoring]").forEach(function (root) { roots.push(root); });
    roots.forEach(initMonitoring);
  });

  document.addEventListener("htmx:wsBeforeMessage", function (event) {
    var message = event.detail.message;
    if (typeof message !== "string" || message.charAt(0) !== "{") return;
    event.preventDefault();  // not HTML: chart points, or an event for the page's own htmx requests
    var body = JSON.parse(message);
    if (body.points) appendPoints(String(body.task), body.points);
    if (body.event) htmx.trigger(document.body, "dms:" + body.event, body);
  });

  // A task's status changed (its cell was swapped with another text): parts of the page that depend on it
  // (action buttons, the Overview) fetch themselves again on "dms:task-status".
  var statuses = {};
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    var target = event.detail.target;
    if (!target || !/^task-\d+-status$/.test(target.id)) return;
    var text = target.textContent.trim();
    if (target.id in statuses && statuses[target.id] !== text) {
      htmx.trigger(document.body, "dms:task-status", { id: target.id });
    }
    statuses[target.id] = text;
  });

  var wasOpen = false;
  document.addEventListener("htmx:wsOpen", function () {
    live.sockets += 1;
    live.connected = true;
    if (wasOpen) {  // back after a break: what changed meanwhile may need the page's parts again
      htmx.trigger(document.body, "dms:task-status", {});
      htmx.trigger(document.body, "dms:tasks-changed", {});
    }
    wasOpen = true;
  });
  document.addEventListener("htmx:wsClose", function () {
    live.sockets = Math.max(0, live.sockets - 1);
    live.connected = live.sockets > 0;
  });

  document.addEventListener("htmx:wsAfterMessage", function () {
    document.querySelectorAll("table[data-sortable]").forEach(sortRows);  // keep the chosen order live
  });
})();
