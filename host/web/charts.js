// The charts over time that the report and the dashboard share: one point per stats
// interval (the `interval` objects of the series and the live stream), drawn by uPlot.
// Defines `window.LoadwrightCharts`.
"use strict";

window.LoadwrightCharts = (function () {
  const palette = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0f766e"];
  const HEIGHT = 220;

  const perSecond = (key) => (s) => (s.length > 0 ? s[key] / s.length : null);
  // An interval without requests has no response time: a gap, not a zero.
  const latency = (pick) => (s) => (s.requests > 0 && s.percentiles && s.duration ? pick(s) : null);

  /** The percentiles each interval carries (Locust's), by their keys. */
  const PERCENTILES = ["p50", "p66", "p75", "p80", "p90", "p95", "p98", "p99", "p99.9", "p99.99"];
  /** The percentiles drawn unless a page asks for others. */
  const DEFAULT_PERCENTILES = ["p50", "p90", "p95", "p99"];

  /** The response-time chart's lines: `chosen` percentiles, then the max. */
  function latencyLines(chosen) {
    return PERCENTILES.filter((p) => chosen.includes(p))
      .map((p) => ({ label: p, value: latency((s) => s.percentiles[p]) }))
      .concat([{ label: "max", value: latency((s) => s.duration.max) }]);
  }

  /** The three charts: request rate, response times (`percentiles`), VUs and iterations. */
  const definitions = (percentiles) => [
    {
      id: "chart-rate", title: "Requests per second", unit: "per second", lines: [
        { label: "requests/s", value: (s) => s.rps },
        { label: "failures/s", value: (s) => s.failures_per_second },
      ],
    },
    {
      id: "chart-latency", title: "Response times (each interval's requests)", unit: "ms",
      lines: latencyLines(percentiles),
    },
    {
      id: "chart-vus", title: "VUs and iterations", unit: "count", lines: [
        { label: "VUs", value: (s) => s.vus },
        { label: "iterations/s", value: perSecond("iterations") },
        { label: "dropped/s", value: perSecond("dropped_iterations") },
      ],
    },
  ];

  function node(tag, attrs, text) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, value);
    if (text != null) el.textContent = text;
    return el;
  }

  /**
   * One chart: `figure` goes into the page; `update(series)` draws the series (again) once
   * the figure is in the document; `resize()` follows the width of its box.
   */
  class TimeChart {
    constructor(definition) {
      this.definition = definition;
      this.figure = node("figure", { class: "chart", id: definition.id, "data-points": "0",
        "data-lines": definition.lines.map((l) => l.label).join(",") });
      this.figure.append(node("figcaption", {}, definition.title));
      const lines = definition.lines.map((l) => l.label).join(", ");
      this.holder = node("div", { class: "plot", role: "img", "aria-label": definition.title + ": " + lines + " over time" });
      this.empty = node("p", { class: "empty" }, "No stats interval has closed yet.");
      this.holder.append(this.empty);
      this.figure.append(this.holder);
      this.plot = null;
    }

    update(series) {
      const lines = this.definition.lines;
      const column = (line) => series.map((s) => {
        const v = line.value(s);
        return v == null || !isFinite(v) ? null : v;
      });
      const data = [series.map((s) => s.timestamp)].concat(lines.map(column));
      this.figure.dataset.points = String(series.length);
      const last = series[series.length - 1];
      this.figure.dataset.last = last ? JSON.stringify(lines.map((l) => l.value(last))) : "";
      if (series.length === 0) return;
      if (this.plot) {
        this.plot.setData(data);
        return;
      }
      this.empty.remove();
      this.plot = new uPlot({
        width: this.width(),
        height: HEIGHT,
        scales: { x: { time: true } },
        axes: [{}, { label: this.definition.unit, size: 60 }],
        series: [{}].concat(lines.map((line, i) => ({
          label: line.label, stroke: palette[i % palette.length], width: 1.5, spanGaps: false,
        }))),
        legend: { live: true },
      }, data, this.holder);
    }

    width() {
      return Math.max(280, this.holder.clientWidth);
    }

    resize() {
      if (this.plot) this.plot.setSize({ width: this.width(), height: HEIGHT });
    }
  }

  /** A new set of the three charts (`percentiles`: those to draw), and their grid. */
  function all(percentiles = DEFAULT_PERCENTILES) {
    const charts = definitions(percentiles).map((d) => new TimeChart(d));
    const grid = node("div", { class: "charts" });
    grid.append(...charts.map((c) => c.figure));
    let resizing = 0;
    window.addEventListener("resize", () => {
      clearTimeout(resizing);
      resizing = setTimeout(() => charts.forEach((c) => c.figure.isConnected && c.resize()), 100);
    });
    return { charts, grid, update: (series) => charts.forEach((c) => c.update(series)) };
  }

  return { PERCENTILES, DEFAULT_PERCENTILES, TimeChart, all };
})();
