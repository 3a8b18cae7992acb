// Loadwright's run report: reads the summary and the per-interval series inlined in the page
// (the script element with id "report-data") and draws them, the charts with charts.js. Plain JavaScript with
// no build step and no network: the page is a single file that opens offline.
//
// Every text that comes from a run (request names, check names, messages) is set with
// textContent, never parsed as HTML: a scenario is untrusted and so are its names.
"use strict";

(function () {
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const summary = data.summary || {};
  const series = Array.isArray(data.series) ? data.series : [];
  const root = document.getElementById("report");

  // ---- Formatting ------------------------------------------------------------------------

  const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
  const decimal = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });

  /** Milliseconds for people: µs below 1 ms, s above 10 s. */
  function ms(value) {
    if (value == null || !isFinite(value)) return "–";
    if (value < 1) return decimal.format(value * 1000) + " µs";
    if (value < 10000) return decimal.format(value) + " ms";
    return decimal.format(value / 1000) + " s";
  }

  function bytes(value) {
    const units = ["B", "kB", "MB", "GB", "TB"];
    let v = value || 0;
    let unit = 0;
    while (v >= 1000 && unit < units.length - 1) {
      v /= 1000;
      unit += 1;
    }
    return decimal.format(v) + " " + units[unit];
  }

  function percent(ratio) {
    return decimal.format(ratio * 100) + " %";
  }

  // ---- DOM helpers -----------------------------------------------------------------------

  /** An element with attributes and children (strings become text nodes). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value != null) node.setAttribute(key, value);
    }
    for (const child of children.flat()) {
      if (child == null) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function section(id, title, ...content) {
    return el("section", { id, "aria-labelledby": id + "-title" },
      el("h2", { id: id + "-title" }, title), ...content);
  }

  /**
   * A table whose columns sort when their header button is pressed (mouse or keyboard).
   * `columns`: [{ label, value(row), text(row)?, numeric? }].
   */
  function sortableTable(caption, columns, rows, footer) {
    const table = el("table", {}, el("caption", {}, caption));
    const head = el("tr");
    const body = el("tbody");
    let sortBy = -1;
    let descending = false;
    function render() {
      const sorted = rows.slice();
      if (sortBy >= 0) {
        const value = columns[sortBy].value;
        sorted.sort((a, b) => {
          const x = value(a);
          const y = value(b);
          const order = typeof x === "number" ? x - y : String(x).localeCompare(String(y));
          return descending ? -order : order;
        });
      }
      body.replaceChildren(...sorted.map((row) => rowOf(row)));
      head.querySelectorAll("th").forEach((th, i) => {
        th.setAttribute("aria-sort", i === sortBy ? (descending ? "descending" : "ascending") : "none");
      });
    }
    function rowOf(row) {
      return el("tr", {}, columns.map((c, i) => {
        const text = c.text ? c.text(row) : c.value(row);
        return i === 0 ? el("th", { scope: "row" }, text) : el("td", { class: c.numeric ? "num" : null }, text);
      }));
    }
    columns.forEach((c, i) => {
      const button = el("button", { type: "button" }, c.label);
      button.addEventListener("click", () => {
        descending = sortBy === i ? !descending : Boolean(c.numeric);
        sortBy = i;
        render();
      });
      head.append(el("th", { scope: "col", class: c.numeric ? "num" : null }, button));
    });
    table.append(el("thead", {}, head), body);
    if (footer) table.append(el("tfoot", {}, rowOf(footer)));
    render();
    return el("div", { class: "table-wrap" }, table);
  }

  function plainTable(caption, headers, rows) {
    return el("div", { class: "table-wrap" }, el("table", {},
      el("caption", {}, caption),
      el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((c, i) =>
        i === 0 ? el("th", { scope: "row" }, c) : el("td", {}, c)))))));
  }

  // ---- Header and totals -----------------------------------------------------------------

  const rows = Array.isArray(summary.requests) ? summary.requests : [];
  const aggregated = rows.find((r) => r.name === "Aggregated" && r.method === "") ||
    rows[rows.length - 1] || { count: 0, failures: 0, rps: 0, duration: {}, percentiles: {} };
  const requestRows = rows.filter((r) => r !== aggregated);
  const metrics = summary.metrics || {};
  const metric = (name, key) => (metrics[name] && metrics[name].values ? metrics[name].values[key] : undefined);

  function header() {
    const state = (summary.status && summary.status.state) || "unknown";
    const started = summary.started_at ? new Date(summary.started_at * 1000) : null;
    const passed = summary.thresholds_passed;
    const hasThresholds = Array.isArray(summary.thresholds) && summary.thresholds.length > 0;
    const verdict = hasThresholds
      ? el("span", { class: passed ? "badge pass" : "badge fail", "data-testid": "verdict" },
        passed ? "thresholds passed" : "thresholds failed")
      : null;
    const scenario = summary.scenario || {};
    return el("header", {},
      el("h1", {}, "Loadwright report"),
      el("p", { class: "meta" },
        el("span", { class: "badge state", "data-testid": "state" }, state), " ", verdict, " ",
        started ? "started " + started.toLocaleString() : null,
        summary.elapsed != null ? ", ran " + decimal.format(summary.elapsed) + " s" : null,
        scenario.hash ? ", scenario " + scenario.hash.slice(0, 12) : null,
        summary.loadwright ? ", Loadwright " + summary.loadwright : null),
      (summary.warnings || []).map((w) => el("p", { class: "warning", role: "note" }, w)));
  }

  function totals() {
    const checksRate = metric("checks", "rate");
    const items = [
      ["requests", "Requests", integer.format(aggregated.count || 0)],
      ["failures", "Failures", integer.format(aggregated.failures || 0)],
      ["rps", "Requests/s", decimal.format(aggregated.rps || 0)],
      ["p50", "Median", ms(aggregated.duration && aggregated.duration.p50)],
      ["p95", "95th percentile", ms(aggregated.duration && aggregated.duration.p95)],
      ["max", "Max", ms(aggregated.duration && aggregated.duration.max)],
      ["iterations", "Iterations", integer.format(metric("iterations", "count") || 0)],
      ["vus_max", "VUs (max)", integer.format(metric("vus_max", "value") || 0)],
      ["data_received", "Data received", bytes(metric("data_received", "count"))],
      ["checks", "Checks passed", checksRate == null ? "–" : percent(checksRate)],
    ];
    return section("totals", "Totals", el("dl", { class: "totals" }, items.map(([key, label, value]) =>
      el("div", { class: "total" }, el("dt", {}, label), el("dd", { "data-total": key }, value)))));
  }

  // ---- Charts (host/web/charts.js) --------------------------------------------------------

  const charts = LoadwrightCharts.all();

  function chartsSection() {
    return section("charts", "Over time", charts.grid);
  }

  // ---- Tables ----------------------------------------------------------------------------

  function requestsSection() {
    const d = (key) => (r) => (r.duration ? r.duration[key] : null);
    const timeColumn = (label, key) => ({ label, value: (r) => d(key)(r) ?? -1, text: (r) => ms(d(key)(r)), numeric: true });
    const columns = [
      { label: "Name", value: (r) => r.name },
      { label: "Type", value: (r) => r.method },
      { label: "# Requests", value: (r) => r.count, text: (r) => integer.format(r.count), numeric: true },
      { label: "# Fails", value: (r) => r.failures, text: (r) => integer.format(r.failures), numeric: true },
      timeColumn("Median", "p50"),
      timeColumn("90%ile", "p90"),
      timeColumn("95%ile", "p95"),
      timeColumn("99%ile", "p99"),
      timeColumn("Average", "mean"),
      timeColumn("Min", "min"),
      timeColumn("Max", "max"),
      { label: "Average size", value: (r) => (r.count ? r.body_bytes / r.count : 0), text: (r) => bytes(r.count ? r.body_bytes / r.count : 0), numeric: true },
      { label: "RPS", value: (r) => r.rps, text: (r) => decimal.format(r.rps), numeric: true },
    ].concat(LoadwrightCharts.PHASE_COLUMNS.map(([label, key]) => ({
      label, value: (r) => (r.phases ? r.phases[key] : -1), text: (r) => (r.phases ? ms(r.phases[key]) : "–"), numeric: true,
    })));
    return section("requests", "Requests",
      sortableTable("Each request row (method and name), then all together", columns, requestRows, aggregated));
  }

  function phasesSection() {
    const phases = [
      ["blocked", "http_req_blocked"], ["dns", "http_req_dns"], ["connecting", "http_req_connecting"],
      ["tls", "http_req_tls_handshaking"], ["sending", "http_req_sending"],
      ["waiting", "http_req_waiting"], ["receiving", "http_req_receiving"],
      ["duration", "http_req_duration"],
    ].filter(([, name]) => metrics[name]);
    return section("phases", "Phases of a request",
      plainTable("Where a request's time went, over all requests", ["Phase", "Average", "Median", "p90", "p95", "p99", "Max"],
        phases.map(([label, name]) => [label].concat(["avg", "med", "p(90)", "p(95)", "p(99)", "max"].map((k) => ms(metric(name, k)))))));
  }

  function tagsSection() {
    const tags = summary.tags || [];
    if (tags.length === 0) return null;
    return section("tags", "Requests by tag", plainTable("Requests by tag value: the status, the scenario, and the scenarios' and requests' own tags",
      ["Tag", "Value", "# Requests", "# Fails", "Average", "Max"],
      tags.map((t) => [t.tag, t.value, integer.format(t.requests), integer.format(t.failures), ms(t.mean), ms(t.max)])));
  }

  function failuresSection() {
    const errors = summary.errors || [];
    const iterationErrors = summary.iteration_errors || [];
    if (errors.length === 0 && iterationErrors.length === 0) {
      return section("failures", "Failures", el("p", {}, "No request or iteration failed."));
    }
    return section("failures", "Failures",
      errors.length ? plainTable("Failed requests by row and kind", ["Kind", "Request", "Occurrences"],
        errors.map((e) => [e.kind, (e.method + " " + e.name).trim(), integer.format(e.count)])) : null,
      iterationErrors.length ? plainTable("Failed iterations by task and message", ["Task", "Kind", "Message", "Occurrences"],
        iterationErrors.map((e) => [e.task, e.kind, e.message, integer.format(e.count)])) : null);
  }

  function checksSection() {
    const checks = summary.checks || [];
    if (checks.length === 0) return null;
    return section("checks", "Checks", plainTable("Each check's passes and fails", ["Check", "Passed", "Passes", "Fails"],
      checks.map((c) => [c.name, percent(c.passes / Math.max(1, c.passes + c.fails)), integer.format(c.passes), integer.format(c.fails)])));
  }

  function thresholdsSection() {
    const thresholds = summary.thresholds || [];
    if (thresholds.length === 0) return null;
    return section("thresholds", "Thresholds", plainTable("Each threshold and the value it was evaluated on",
      ["Metric", "Expression", "Value", "Result"],
      thresholds.map((t) => [t.metric, t.expression, t.value == null ? "–" : decimal.format(t.value),
        el("span", { class: t.ok ? "badge pass" : "badge fail" }, t.ok ? "✓ passed" : "✗ failed")])));
  }

  function metricText(m) {
    const v = m.values || {};
    switch (m.type) {
      case "counter": return decimal.format(v.count) + " (" + decimal.format(v.rate) + "/s)";
      case "gauge": return decimal.format(v.value) + " (min " + decimal.format(v.min) + ", max " + decimal.format(v.max) + ")";
      case "rate": return percent(v.rate) + " (" + integer.format(v.passes) + " of " + integer.format(v.passes + v.fails) + ")";
      default: return ["avg", "min", "med", "p(90)", "p(95)", "p(99)", "max"].map((k) => k + "=" + decimal.format(v[k])).join(" ");
    }
  }

  function metricsSection() {
    const names = Object.keys(metrics).sort();
    return section("metrics", "Metrics",
      plainTable("Every metric, k6's names and aggregations (times in ms)", ["Metric", "Type", "Values"],
        names.map((name) => [name, metrics[name].type, metricText(metrics[name])])));
  }

  function planSection() {
    const scenario = summary.scenario || {};
    const tasks = (scenario.tasks || []).map((t) => t.name + " (weight " + t.weight + ")").join(", ");
    return section("plan", "Plan and scenario",
      el("p", {}, "Tasks: " + (tasks || "–") + (scenario.size ? "; component " + bytes(scenario.size) : "")),
      el("details", {}, el("summary", {}, "The plan as run (a plan file)"),
        el("pre", {}, JSON.stringify(summary.plan || {}, null, 2))));
  }

  // ---- Page ------------------------------------------------------------------------------

  root.replaceChildren(header(), totals(), chartsSection(), thresholdsSection(), requestsSection(),
    phasesSection(), tagsSection(), failuresSection(), checksSection(), metricsSection(), planSection());
  charts.update(series);
  document.body.dataset.ready = "true";
})();
