// The charts over time that the report and the dashboard share: one point per stats
// interval (the `interval` objects of the series and the live stream), drawn by uPlot.
// Defines `window.LoadwrightCharts`.
"use strict";

window.LoadwrightCharts = (function () {
  const palette = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0f766e",
    "#db2777", "#65a30d", "#0891b2", "#92400e", "#4338ca", "#525252"];
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

  // ---- Breakdowns by request name and by tag -----------------------------------------------

  /** What a breakdown chart can draw of each entry (an entry without requests: 0 or a gap). */
  const MEASURES = {
    rate: { label: "requests/s", unit: "per second", value: (e, s) => (e ? e.requests / s.length : 0) },
    failures: { label: "failures/s", unit: "per second", value: (e, s) => (e ? e.failures / s.length : 0) },
    mean: { label: "mean response time", unit: "ms", value: (e) => (e && e.requests > 0 ? e.mean : null) },
    max: { label: "max response time", unit: "ms", value: (e) => (e && e.requests > 0 ? e.max : null) },
  };

  /** The entries of interval `s` broken down `by` "name" or a tag, as [label, entry]. */
  function entriesOf(s, by) {
    if (by === "name") return (s.by_name || []).map((e) => [(e.method ? e.method + " " : "") + e.name, e]);
    return (s.by_tag || []).filter((e) => e.tag === by).map((e) => [e.value, e]);
  }

  /** The tags the series' intervals break their requests down by, sorted. */
  function tagsOf(series) {
    const tags = new Set();
    series.forEach((s) => (s.by_tag || []).forEach((e) => tags.add(e.tag)));
    return [...tags].sort();
  }

  function select(id, label, options, chosen, changed) {
    const box = node("select", { id });
    options.forEach(([value, text]) => {
      const option = node("option", { value }, text);
      option.selected = value === chosen;
      box.append(option);
    });
    box.addEventListener("change", () => changed(box.value));
    const wrap = node("label", { for: id }, label + " ");
    wrap.append(box);
    return wrap;
  }

  /**
   * A chart of the requests broken down by name or by a tag's values (one line each, the
   * busiest first), drawing their rate, failures, mean or max; two selects choose which.
   * `element` goes into the page; `update(series)` draws (again).
   */
  class Breakdown {
    constructor() {
      this.by = "name";
      this.measure = "rate";
      this.series = [];
      this.shape = null;
      this.chart = null;
      this.element = node("div", { class: "breakdown", id: "breakdown" });
      this.choices = node("div", { class: "breakdown-choices" });
      this.element.append(this.choices);
      this.tags = null;
    }

    choose() {
      const tags = tagsOf(this.series);
      if (this.tags !== null && tags.join("\n") === this.tags.join("\n")) return;
      this.tags = tags;
      const byOptions = [["name", "request name"]].concat(tags.map((t) => [t, "tag " + t]));
      const measures = Object.entries(MEASURES).map(([key, m]) => [key, m.label]);
      const redraw = (key) => (value) => {
        this[key] = value;
        const focused = document.activeElement;
        this.update(this.series);
        // A new chart takes the choices along: the select keeps the keyboard's focus.
        if (focused && this.choices.contains(focused)) focused.focus();
      };
      this.choices.replaceChildren(
        select("breakdown-by", "Break down by", byOptions, this.by, redraw("by")),
        select("breakdown-measure", "Show", measures, this.measure, redraw("measure")));
    }

    update(series) {
      this.series = series;
      this.choose();
      const totals = new Map();
      series.forEach((s) => entriesOf(s, this.by).forEach(([label, e]) => totals.set(label, (totals.get(label) || 0) + e.requests)));
      const labels = [...totals.keys()].sort((a, b) => totals.get(b) - totals.get(a) || a.localeCompare(b));
      const shape = [this.by, this.measure].concat(labels).join("\n");
      if (shape !== this.shape) {
        this.shape = shape;
        const measure = MEASURES[this.measure];
        const by = this.by;
        const title = (by === "name" ? "By request name" : "By tag " + by) + ": " + measure.label;
        this.chart = new TimeChart({
          id: "chart-breakdown", title, unit: measure.unit,
          lines: labels.map((label) => ({
            label,
            value: (s) => {
              const found = entriesOf(s, by).find(([l]) => l === label);
              return measure.value(found && found[1], s);
            },
          })),
        });
        // The choices sit under the chart's title, as a legend of what it draws.
        this.chart.figure.insertBefore(this.choices, this.chart.holder);
        this.element.replaceChildren(this.chart.figure);
      }
      this.chart.update(series);
    }

    resize() {
      if (this.chart) this.chart.resize();
    }
  }

  /**
   * A new set of the three charts (`percentiles`: those to draw) and the breakdown chart
   * (`previous` set's, if given, keeping its choices), and their grid.
   */
  function all(percentiles = DEFAULT_PERCENTILES, previous = null) {
    const charts = definitions(percentiles).map((d) => new TimeChart(d));
    const breakdown = previous ? previous.breakdown : new Breakdown();
    const grid = node("div", { class: "charts" });
    grid.append(...charts.map((c) => c.figure), breakdown.element);
    let resizing = 0;
    window.addEventListener("resize", () => {
      clearTimeout(resizing);
      resizing = setTimeout(() => grid.isConnected && charts.concat([breakdown]).forEach((c) => c.resize()), 100);
    });
    const update = (series) => {
      charts.forEach((c) => c.update(series));
      breakdown.update(series);
    };
    return { charts, breakdown, grid, update };
  }

  /** The request tables' phase columns (each phase's mean per row): header, key. */
  const PHASE_COLUMNS = [
    ["DNS", "dns"], ["Connect", "connecting"], ["TLS", "tls_handshaking"],
    ["Send", "sending"], ["Wait", "waiting"], ["Receive", "receiving"],
  ];

  return { PERCENTILES, DEFAULT_PERCENTILES, PHASE_COLUMNS, TimeChart, Breakdown, all };
})();
