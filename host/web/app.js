// Loadwright's dashboard, served by `host serve` at `/`: log in with a tenant's token, list,
// upload, inspect and delete scenarios, start runs, follow and control a live run (its
// stream), see a finished one, download its reports and compare two. Plain JavaScript, no build step;
// every datum comes from the /v1 API.
//
// The token lives in this tab's session storage and goes out only in the Authorization
// header, never in a URL. Every text from the server (scenario tasks, run reasons, error
// messages) is set as text, never parsed as markup.
"use strict";

(function () {
  const TOKEN_KEY = "loadwright.token";
  // `host run --web`: one local run, no login, no scenarios; set at start from /v1/local.
  let local = false;
  const app = document.getElementById("app");
  const nav = document.getElementById("nav");

  // ---- Helpers ---------------------------------------------------------------------------

  /** An element with attributes and children (strings become text nodes). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value == null || value === false) continue;
      if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat(Infinity)) {
      if (child == null) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function show(...children) {
    app.replaceChildren(...children);
  }

  const when = (seconds) => (seconds ? new Date(seconds * 1000).toLocaleString() : "–");
  const kilobytes = (n) => (n / 1000).toLocaleString("en-US", { maximumFractionDigits: 1 }) + " kB";
  const short = (id) => String(id).slice(0, 12);

  /** A failed API call, with the server's message. */
  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  /** Calls the API with the session's token; a refused token logs out. */
  async function api(path, options = {}) {
    const token = sessionStorage.getItem(TOKEN_KEY);
    const headers = Object.assign({}, options.headers, { Authorization: "Bearer " + token });
    const response = await fetch(path, Object.assign({}, options, { headers }));
    if (response.ok) return response;
    let message = response.status + " " + response.statusText;
    try {
      message = (await response.json()).error.message || message;
    } catch (_) { /* not JSON: keep the status */ }
    if (response.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      login("The server refused the token: " + message);
    }
    throw new ApiError(response.status, message);
  }

  function errorBox(err) {
    return el("p", { class: "error", role: "alert" }, String(err.message || err));
  }

  /** Runs a view; an API failure other than a refused token shows its message. */
  async function render(view) {
    try {
      await view();
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) show(errorBox(err));
    }
  }

  // ---- Login -----------------------------------------------------------------------------

  function login(message) {
    nav.hidden = true;
    const input = el("input", { id: "token", name: "token", type: "password", autocomplete: "current-password", required: true });
    const form = el("form", { class: "login", "aria-labelledby": "login-title" },
      el("h1", { id: "login-title" }, "Log in"),
      message ? el("p", { class: "error", role: "alert" }, message) : null,
      el("label", { for: "token" }, "Tenant token"), input,
      el("button", { type: "submit" }, "Log in"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, input.value);
      try {
        // A cheap call that every tenant may make: does the server take this token?
        await api("/v1/scenarios");
        location.hash = "#/scenarios";
        route();
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 401)) login(err.message);
      }
    });
    show(form);
    input.focus();
  }

  // ---- Scenarios -------------------------------------------------------------------------

  async function upload(file, status) {
    status.replaceChildren(el("p", {}, "Uploading " + file.name + "…"));
    try {
      const response = await api("/v1/scenarios", {
        method: "POST",
        headers: { "Content-Type": "application/wasm" },
        body: file,
      });
      const scenario = await response.json();
      await scenarios(el("p", { class: "notice", role: "status" },
        (response.status === 201 ? "Uploaded " : "Already uploaded: ") + file.name + " as " + short(scenario.id)));
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) status.replaceChildren(errorBox(err));
    }
  }

  function uploader() {
    const status = el("div", { id: "upload-status" });
    const input = el("input", { id: "upload", type: "file", accept: ".wasm,application/wasm" });
    input.addEventListener("change", () => {
      if (input.files.length) upload(input.files[0], status);
    });
    const zone = el("div", { class: "drop", id: "drop" },
      el("label", { for: "upload" }, "Upload a scenario (.wasm): choose a file or drop it here "), input);
    zone.addEventListener("dragover", (event) => {
      event.preventDefault();
      zone.classList.add("over");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("over");
      if (event.dataTransfer.files.length) upload(event.dataTransfer.files[0], status);
    });
    return [zone, status];
  }

  async function remove(scenario) {
    if (!confirm("Delete scenario " + short(scenario.id) + "?")) return;
    await api("/v1/scenarios/" + encodeURIComponent(scenario.id), { method: "DELETE" });
    await scenarios(el("p", { class: "notice", role: "status" }, "Deleted " + short(scenario.id)));
  }

  async function scenarios(notice) {
    const list = await (await api("/v1/scenarios")).json();
    const tasks = (s) => (Array.isArray(s.tasks) ? s.tasks.map((t) => t.name + " ×" + t.weight).join(", ") : "");
    const rows = list.map((s) => el("tr", { "data-id": s.id },
      el("th", { scope: "row", class: "mono" }, el("a", { href: "#/scenarios/" + s.id }, short(s.id))),
      el("td", {}, tasks(s)),
      el("td", { class: "num" }, kilobytes(s.size)),
      el("td", {}, when(s.created_at)),
      el("td", {}, el("button", { type: "button", class: "danger", onclick: () => render(() => remove(s)) }, "Delete"))));
    show(el("h1", {}, "Scenarios"), notice || null, ...uploader(),
      list.length === 0 ? el("p", {}, "No scenario yet: upload one.") :
        el("div", { class: "table-wrap" }, el("table", { id: "scenarios" },
          el("caption", { class: "sr-only" }, "Uploaded scenarios"),
          el("thead", {}, el("tr", {}, ["Scenario", "Tasks (weight)", "Size", "Uploaded", ""].map((h) => el("th", { scope: "col" }, h)))),
          el("tbody", {}, rows))));
  }

  async function scenario(id) {
    const s = await (await api("/v1/scenarios/" + encodeURIComponent(id))).json();
    const tasks = Array.isArray(s.tasks) ? s.tasks : [];
    show(el("h1", {}, "Scenario " + short(s.id)),
      el("dl", { class: "facts" },
        el("dt", {}, "Hash (SHA-256)"), el("dd", { class: "mono", id: "hash" }, s.id),
        el("dt", {}, "Size"), el("dd", {}, kilobytes(s.size) + " (" + s.size + " bytes)"),
        el("dt", {}, "Uploaded"), el("dd", {}, when(s.created_at))),
      el("h2", {}, "Tasks"),
      el("div", { class: "table-wrap" }, el("table", { id: "tasks" },
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Task"), el("th", { scope: "col", class: "num" }, "Weight"))),
        el("tbody", {}, tasks.map((t) => el("tr", {}, el("th", { scope: "row" }, t.name), el("td", { class: "num" }, t.weight)))))),
      el("h2", {}, "Default plan"),
      s.options ? el("pre", { id: "plan" }, JSON.stringify(s.options, null, 2)) : el("p", {}, "None: a run's plan gives everything."),
      el("h2", {}, "Imports"),
      el("ul", { id: "imports" }, (s.imports || []).map((i) => el("li", { class: "mono" }, i))),
      el("p", { class: "actions" }, el("a", { href: "#/start?scenario=" + s.id }, "Start a run of it"),
        el("a", { href: "#/scenarios" }, "Back to the scenarios")));
  }

  // ---- Runs ------------------------------------------------------------------------------

  const RUN_STATES = ["starting", "running", "paused", "stopping", "completed", "stopped", "aborted", "aborted-by-threshold", "interrupted"];
  const FINISHED = new Set(["completed", "stopped", "aborted", "aborted-by-threshold"]);

  /** Fetches `path` with the token and hands it to the browser as a file named `name`. */
  async function download(path, name) {
    const blob = await (await api(path)).blob();
    const url = URL.createObjectURL(blob);
    const link = el("a", { href: url, download: name, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }

  function downloads(run) {
    if (!FINISHED.has(run.state)) return "–";
    const files = [
      ["JSON", "/v1/runs/" + run.id + "/report", run.id + ".json"],
      ["CSV", "/v1/runs/" + run.id + "/report/stats.csv", run.id + "_stats.csv"],
      ["HTML", "/v1/runs/" + run.id + "/report.html", run.id + ".html"],
    ];
    return el("span", { class: "actions" }, files.map(([label, path, name]) =>
      el("button", { type: "button", "aria-label": label + " report of run " + run.id,
        onclick: () => render(() => download(path, name)) }, label)));
  }

  async function runs(state) {
    const query = state ? "?state=" + encodeURIComponent(state) : "";
    const list = await (await api("/v1/runs" + query)).json();
    const filter = el("select", { id: "state-filter" },
      el("option", { value: "" }, "every state"),
      RUN_STATES.map((s) => el("option", { value: s, selected: s === state }, s)));
    filter.addEventListener("change", () => {
      location.hash = "#/runs" + (filter.value ? "?state=" + filter.value : "");
    });
    const chosen = [];
    const compareButton = el("button", { type: "button", id: "compare", disabled: true,
      onclick: () => { location.hash = "#/compare?a=" + chosen[0] + "&b=" + chosen[1]; } }, "Compare the two chosen");
    const choose = (run) => {
      if (!FINISHED.has(run.state)) return null;
      const box = el("input", { type: "checkbox", "aria-label": "Choose run " + run.id + " to compare" });
      box.addEventListener("change", () => {
        if (box.checked) chosen.push(run.id);
        else chosen.splice(chosen.indexOf(run.id), 1);
        compareButton.disabled = chosen.length !== 2;
      });
      return box;
    };
    show(el("h1", {}, "Runs"), el("p", { class: "actions" }, el("a", { href: "#/start", id: "start-run" }, "Start a run"), compareButton),
      el("div", { class: "filters" }, el("label", { for: "state-filter" }, "Show"), filter),
      list.length === 0 ? el("p", {}, "No run" + (state ? " is " + state : " yet") + ".") :
        el("div", { class: "table-wrap" }, el("table", { id: "runs" },
          el("thead", {}, el("tr", {}, ["", "Run", "Scenario", "State", "VUs", "Created", "Ended", "Reports"].map((h) => el("th", { scope: "col" }, h)))),
          el("tbody", {}, list.map((r) => el("tr", { "data-id": r.id },
            el("td", {}, choose(r)),
            el("th", { scope: "row", class: "mono" }, el("a", { href: "#/runs/" + r.id }, r.id)),
            el("td", { class: "mono" }, el("a", { href: "#/scenarios/" + r.scenario }, short(r.scenario))),
            el("td", {}, el("span", { class: "badge", title: r.reason || null }, r.state)),
            el("td", { class: "num" }, r.vus + " / " + r.vus_max),
            el("td", {}, when(r.created_at)),
            el("td", {}, when(r.ended_at)),
            el("td", {}, downloads(r))))))));
  }

  // ---- Starting a run -------------------------------------------------------------------

  /**
   * Lines of `KEY SEPARATOR VALUE`, split at the first separator (or the last, for a key
   * that may hold one: `http_req_duration{name:/items}: p(95)<500`); a line without the
   * separator is refused, named.
   */
  function pairs(text, separator, what, last) {
    const out = [];
    for (const line of text.split("\n").map((l) => l.trim()).filter(Boolean)) {
      const at = last ? line.lastIndexOf(separator) : line.indexOf(separator);
      if (at <= 0) throw new Error(what + ": \"" + line + "\" needs the form NAME" + separator + "VALUE");
      out.push([line.slice(0, at).trim(), line.slice(at + 1).trim()]);
    }
    return out;
  }

  /** `30s:10,1m:10,10s:0` as a plan's stages. */
  function stages(text) {
    return text.split(",").map((s) => s.trim()).filter(Boolean).map((stage) => {
      const [duration, target] = stage.split(":");
      if (!duration || target === undefined || !/^\d+$/.test(target.trim())) {
        throw new Error("Stages: \"" + stage + "\" needs the form DURATION:TARGET, as 30s:10");
      }
      return { duration: duration.trim(), target: Number(target) };
    });
  }

  /** The body of POST /v1/runs for the form's fields. */
  function runRequest(f) {
    const number = (name) => (f[name].value === "" ? undefined : Number(f[name].value));
    const body = { scenario: f.scenario.value, base_url: f.base_url.value || undefined };
    body.params = Object.fromEntries(pairs(f.params.value, "=", "Parameters"));
    const plan = {};
    const thresholds = pairs(f.thresholds.value, ":", "Thresholds", true);
    if (thresholds.length) {
      plan.thresholds = {};
      for (const [metric, expression] of thresholds) (plan.thresholds[metric] ||= []).push(expression);
    }
    const vus = number("vus");
    const maxVus = number("max_vus");
    const model = f.model.value;
    if (model === "iterations") {
      Object.assign(body, { vus, iterations: number("iterations") });
    } else if (model === "duration") {
      plan.scenarios = { default: { executor: "constant-vus", vus: vus || 1, duration: f.duration.value, maxVUs: maxVus } };
    } else if (model === "stages") {
      plan.scenarios = { default: { executor: "ramping-vus", stages: stages(f.stages.value) } };
    } else {
      plan.scenarios = { default: { executor: "constant-arrival-rate", rate: number("rate"), timeUnit: "1s",
        duration: f.duration.value, preAllocatedVUs: vus || 1, maxVUs: maxVus } };
    }
    if (Object.keys(plan).length) body.plan = plan;
    return body;
  }

  async function startForm(scenarioId) {
    const list = await (await api("/v1/scenarios")).json();
    if (list.length === 0) return show(el("h1", {}, "Start a run"), el("p", {}, "Upload a scenario first."));
    const field = (label, input, hint) => [el("label", { for: input.id }, label), hint ? el("div", {}, input, el("small", {}, " " + hint)) : input];
    const input = (name, attrs) => el("input", Object.assign({ id: "run-" + name, name }, attrs));
    const model = el("select", { id: "run-model", name: "model" },
      el("option", { value: "duration" }, "VUs for a duration (closed model)"),
      el("option", { value: "iterations" }, "VUs sharing a number of iterations"),
      el("option", { value: "stages" }, "a ramp of VUs (stages)"),
      el("option", { value: "rate" }, "a rate of iterations (open model)"));
    const status = el("div", { id: "start-status" });
    const form = el("form", { class: "start", "aria-labelledby": "start-title" },
      field("Scenario", el("select", { id: "run-scenario", name: "scenario" }, list.map((s) =>
        el("option", { value: s.id, selected: s.id === scenarioId }, short(s.id) + " (" + (s.tasks || []).map((t) => t.name).join(", ") + ")")))),
      field("Load", model),
      field("VUs", input("vus", { type: "number", min: 1, value: 10 }), "(pre-allocated for a rate)"),
      field("Max VUs", input("max_vus", { type: "number", min: 1 }), "(how far live control may raise them)"),
      field("Duration", input("duration", { value: "30s" }), "(as 30s, 5m, 1h)"),
      field("Iterations", input("iterations", { type: "number", min: 1, value: 100 })),
      field("Stages", input("stages", { placeholder: "30s:10,1m:10,10s:0" })),
      field("Rate (iterations/s)", input("rate", { type: "number", min: 1, value: 10 })),
      field("Base URL", input("base_url", { type: "url", placeholder: "https://service.test" })),
      field("Parameters", el("textarea", { id: "run-params", name: "params", placeholder: "name=value, one per line" })),
      field("Thresholds", el("textarea", { id: "run-thresholds", name: "thresholds", placeholder: "http_req_duration: p(95)<500" })),
      el("button", { type: "submit", class: "submit" }, "Start"));
    const shown = { duration: ["vus", "max_vus", "duration"], iterations: ["vus", "iterations"], stages: ["stages"], rate: ["vus", "max_vus", "duration", "rate"] };
    const optional = ["vus", "max_vus", "duration", "iterations", "stages", "rate"];
    function fit() {
      for (const name of optional) {
        const visible = shown[model.value].includes(name);
        const control = form.elements[name];
        control.disabled = !visible;
        form.querySelector("label[for=run-" + name + "]").hidden = !visible;
        (control.parentElement === form ? control : control.parentElement).hidden = !visible;
      }
    }
    model.addEventListener("change", fit);
    fit();
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const response = await api("/v1/runs", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(runRequest(form.elements)),
        });
        location.hash = "#/runs/" + (await response.json()).id;
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 401)) status.replaceChildren(errorBox(err));
      }
    });
    show(el("h1", { id: "start-title" }, "Start a run"), status, form);
  }

  // ---- A run, live or finished -----------------------------------------------------------

  /** Reads the Server-Sent Events of `path` (fetch, so the token stays in a header). */
  async function events(path, signal, onEvent) {
    const response = await api(path, { signal, headers: { Accept: "text/event-stream" } });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let name = "message";
        const data = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) name = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        }
        if (data.length) onEvent(name, JSON.parse(data.join("\n")));
      }
    }
  }

  const ms = (v) => (v == null ? "–" : v < 1 ? (v * 1000).toFixed(0) + " µs" : v < 10000 ? v.toFixed(2) + " ms" : (v / 1000).toFixed(2) + " s");
  const count = (n) => Number(n || 0).toLocaleString("en-US");

  /** The request table's columns: header, value to sort by, cell text. */
  const REQUEST_COLUMNS = [
    ["Name", (r) => r.name], ["Type", (r) => r.method],
    ["# Requests", (r) => r.count, count, "count"], ["# Fails", (r) => r.failures, count, "failures"],
    ["Median", (r) => r.duration.p50, ms], ["90%ile", (r) => r.duration.p90, ms],
    ["95%ile", (r) => r.duration.p95, ms], ["99%ile", (r) => r.duration.p99, ms],
    ["Average", (r) => r.duration.mean, ms], ["Max", (r) => r.duration.max, ms],
    ["RPS", (r) => r.rps || 0, (v) => v.toFixed(1)], ["Current RPS", (r) => r.current_rps || 0, (v) => v.toFixed(1)],
  ].concat(LoadwrightCharts.PHASE_COLUMNS.map(([label, key]) => [label, (r) => (r.phases ? r.phases[key] : -1), (v) => (v < 0 ? "–" : ms(v)), "phase-" + key]));

  /**
   * Locust's request table; its order (`sort`: column index and direction, kept by the
   * caller across snapshots) changes from the headers, by mouse or keyboard.
   */
  function requestTable(snapshot, sort, resort) {
    const rows = [...(snapshot.requests || [])];
    const total = Object.assign({ count: 0, failures: 0, duration: {} }, snapshot.total, { name: "Aggregated", method: "" });
    const pick = REQUEST_COLUMNS[sort.column][1];
    rows.sort((a, b) => {
      const x = pick(a);
      const y = pick(b);
      const order = typeof x === "number" ? x - y : String(x).localeCompare(String(y));
      return sort.descending ? -order : order;
    });
    const cells = (r) => REQUEST_COLUMNS.map(([, value, text, key], i) => i === 0
      ? el("th", { scope: "row" }, r.name)
      : el("td", { class: text ? "num" : null, "data-col": key }, text ? text(value(r)) : value(r)));
    const head = REQUEST_COLUMNS.map(([label, , text], i) => el("th", {
      scope: "col", class: text ? "num" : null,
      "aria-sort": i === sort.column ? (sort.descending ? "descending" : "ascending") : "none",
    }, el("button", { type: "button", onclick: () => resort(i, Boolean(text)) }, label)));
    return el("div", { class: "table-wrap" }, el("table", { id: "requests" },
      el("thead", {}, el("tr", {}, head)),
      el("tbody", {}, rows.map((r) => el("tr", {}, cells(r)))),
      el("tfoot", {}, el("tr", { id: "requests-total" }, cells(total)))));
  }

  /** A request's phases in the order they happen (a stored snapshot's keys are sorted). */
  const PHASES = ["blocked", "dns", "connecting", "tls_handshaking", "sending", "waiting", "receiving"];

  function snapshotView(snapshot, sort, resort) {
    const total = snapshot.total || { count: 0, failures: 0, duration: {} };
    const items = [
      ["requests", "Requests", count(total.count)], ["failures", "Failures", count(total.failures)],
      ["rps", "Requests/s", (total.rps || 0).toFixed(1)], ["p95", "95th percentile", ms(total.duration.p95)],
      ["iterations", "Iterations", count(snapshot.iterations)], ["vus", "VUs", count(snapshot.vus) + " / " + count(snapshot.vus_max)],
      ["dropped", "Dropped iterations", count(snapshot.dropped_iterations)],
    ];
    const phases = snapshot.http_phases || {};
    return [
      el("dl", { class: "totals" }, items.map(([key, label, value]) => el("div", { class: "total" }, el("dt", {}, label), el("dd", { "data-total": key }, value)))),
      el("h2", {}, "Requests"), requestTable(snapshot, sort, resort),
      el("h2", {}, "Phases"), el("div", { class: "table-wrap" }, el("table", { id: "phases" },
        el("thead", {}, el("tr", {}, ["Phase", "Average", "Median", "p95", "Max"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, PHASES.filter((name) => phases[name] && "mean" in phases[name]).map((name) => [name, phases[name]]).map(([name, t]) =>
          el("tr", {}, el("th", { scope: "row" }, name), el("td", {}, ms(t.mean)), el("td", {}, ms(t.p50)), el("td", {}, ms(t.p95)), el("td", {}, ms(t.max))))))),
      (snapshot.tags || []).length ? [el("h2", {}, "Requests by tag"), tagTable(snapshot.tags)] : null,
      (snapshot.thresholds || []).length ? [el("h2", {}, "Thresholds"), el("ul", { id: "thresholds" }, snapshot.thresholds.map((t) =>
        el("li", { class: t.ok ? "ok" : "bad" }, (t.ok ? "✓ " : "✗ ") + t.metric + " " + t.expression + " (" + t.value + ")")))] : null,
      (snapshot.checks || []).length ? [el("h2", {}, "Checks"), el("ul", { id: "checks" }, snapshot.checks.map((c) =>
        el("li", {}, c.name + ": " + count(c.passes) + " passed, " + count(c.fails) + " failed")))] : null,
      (snapshot.errors || []).length ? [el("h2", {}, "Failures"), el("ul", { id: "errors" }, snapshot.errors.map((e) =>
        el("li", {}, e.kind + " on " + (e.method + " " + e.name).trim() + ": " + count(e.count))))] : null,
      (snapshot.metrics || []).length ? [el("h2", {}, "Custom metrics"), el("ul", { id: "metrics" }, snapshot.metrics.map((m) =>
        el("li", {}, m.name + " (" + m.kind + "): " + metricValue(m))))] : null,
    ];
  }

  /** The run's requests by tag value (status, scenario, the scenarios' and requests' tags). */
  function tagTable(tags) {
    const head = ["Tag", "Value", "# Requests", "# Fails", "Average", "Max"];
    return el("div", { class: "table-wrap" }, el("table", { id: "tags" },
      el("thead", {}, el("tr", {}, head.map((h, i) => el("th", { scope: "col", class: i > 1 ? "num" : null }, h)))),
      el("tbody", {}, tags.map((t) => el("tr", {}, el("th", { scope: "row" }, t.tag), el("td", {}, t.value),
        el("td", { class: "num" }, count(t.requests)), el("td", { class: "num" }, count(t.failures)),
        el("td", { class: "num" }, ms(t.mean)), el("td", { class: "num" }, ms(t.max)))))));
  }

  /** A custom metric's figure by kind: a sum, a last value, a ratio, or a distribution. */
  function metricValue(m) {
    const n = (v) => Number(v).toLocaleString("en-US", { maximumFractionDigits: 3 });
    if (m.kind === "rate") return (m.value * 100).toFixed(2) + " % of " + count(m.count);
    if (m.kind === "gauge") return n(m.value) + " (min " + n(m.min) + ", max " + n(m.max) + ")";
    if (m.kind === "trend" && m.trend) return "avg " + n(m.trend.mean) + ", p95 " + n(m.trend.p95) + ", max " + n(m.trend.max) + " (" + count(m.count) + " samples)";
    return n(m.value);
  }

  /** The last lines of the run's log (guest logs, host notices). */
  async function logTail(id, box) {
    let lines;
    try {
      lines = await (await api("/v1/runs/" + encodeURIComponent(id) + "/log")).json();
    } catch (err) {
      return box.replaceChildren(errorBox(err));
    }
    const stamp = (l) => "[" + l.elapsed.toFixed(1) + "s VU " + l.vu + " " + l.level + "] ";
    box.replaceChildren(lines.length === 0 ? "The run has logged nothing." :
      el("pre", { id: "log" }, lines.slice(-LOG_LINES).map((l) => stamp(l) + l.message).join("\n")));
  }

  function controls(run, refresh) {
    const post = (action, body) => render(async () => {
      await api("/v1/runs/" + run.id + "/" + action, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body || {}),
      });
      await refresh();
    });
    const vus = el("input", { id: "set-vus", type: "number", min: 0, value: run.vus });
    return el("div", { class: "controls", id: "controls" },
      el("button", { type: "button", id: "stop", class: "danger", onclick: () => post("stop") }, "Stop"),
      el("button", { type: "button", id: "pause", onclick: () => post("pause") }, "Pause"),
      el("button", { type: "button", id: "resume", onclick: () => post("resume") }, "Resume"),
      el("label", { for: "set-vus" }, "VUs"), vus,
      el("button", { type: "button", id: "apply-vus", onclick: () => post("vus", { vus: Number(vus.value) }) }, "Set"));
  }

  const PERCENTILES_KEY = "loadwright.percentiles";

  /** The percentiles the response-time chart draws: the person's choice, kept in this browser. */
  function chosenPercentiles() {
    try {
      const chosen = JSON.parse(localStorage.getItem(PERCENTILES_KEY));
      if (Array.isArray(chosen) && chosen.length) return chosen.filter((p) => LoadwrightCharts.PERCENTILES.includes(p));
    } catch (_) { /* nothing kept, or something else: the default */ }
    return LoadwrightCharts.DEFAULT_PERCENTILES;
  }

  /** Checkboxes for the response-time chart's percentiles; `changed(chosen)` redraws. */
  function percentileChooser(changed) {
    const chosen = new Set(chosenPercentiles());
    return el("fieldset", { class: "percentiles", id: "percentiles" },
      el("legend", {}, "Percentiles on the response-time chart (with the max)"),
      LoadwrightCharts.PERCENTILES.map((p) => {
        const box = el("input", { type: "checkbox", id: "percentile-" + p, value: p, checked: chosen.has(p) });
        box.addEventListener("change", () => {
          if (box.checked) chosen.add(p);
          else chosen.delete(p);
          const list = LoadwrightCharts.PERCENTILES.filter((q) => chosen.has(q));
          localStorage.setItem(PERCENTILES_KEY, JSON.stringify(list));
          changed(list);
        });
        return el("label", {}, box, " " + p);
      }));
  }

  let watching = null;
  const LOG_LINES = 50;

  async function runPage(id) {
    const signal = (watching = new AbortController()).signal;
    let run = await (await api("/v1/runs/" + encodeURIComponent(id))).json();
    let series = await (await api("/v1/runs/" + encodeURIComponent(id) + "/series")).json();
    let charts = LoadwrightCharts.all(chosenPercentiles());
    const chooser = percentileChooser((chosen) => {
      const next = LoadwrightCharts.all(chosen, charts);
      charts.grid.replaceWith(next.grid);
      charts = next;
      charts.update(series);
    });
    const state = el("span", { class: "badge", id: "run-state" }, run.state);
    const live = el("div", { id: "live" });
    const tools = el("div", {});
    const refresh = async () => {
      run = await (await api("/v1/runs/" + encodeURIComponent(id))).json();
      state.textContent = run.state;
      const over = FINISHED.has(run.state) || run.state === "interrupted";
      tools.replaceChildren(over ? el("p", { class: "actions" }, "Reports: ", downloads(run)) : controls(run, refresh));
      return over;
    };
    const log = el("div", { id: "log-box" });
    // The request table's order survives each new snapshot; the largest count first at start.
    const sort = { column: 2, descending: true };
    let latest = null;
    const draw = (snapshot) => {
      latest = snapshot;
      live.replaceChildren(...snapshotView(snapshot, sort, resort).flat(2).filter(Boolean));
    };
    const resort = (column, numeric) => {
      sort.descending = sort.column === column ? !sort.descending : numeric;
      sort.column = column;
      if (latest) draw(latest);
    };
    show(el("h1", {}, "Run ", el("span", { class: "mono" }, short(run.id)), " ", state),
      el("p", {}, "Scenario ", local ? el("span", { class: "mono" }, short(run.scenario)) :
        el("a", { href: "#/scenarios/" + run.scenario, class: "mono" }, short(run.scenario))),
      tools, el("h2", {}, "Over time"), chooser, charts.grid, live, el("h2", {}, "Log (last " + LOG_LINES + " lines)"), log);
    charts.update(series);
    if (await refresh()) {
      const snapshot = await (await api("/v1/runs/" + encodeURIComponent(id) + "/stats")).json().catch(() => null);
      if (snapshot) draw(snapshot);
      await logTail(id, log);
      return;
    }
    await events("/v1/runs/" + encodeURIComponent(id) + "/stream?snapshots=true", signal, (name, data) => {
      if (name === "interval" && !series.some((s) => s.elapsed >= data.elapsed)) {
        series = series.concat([data]);
        charts.update(series);
        // A page opened as the run started shows `starting` until its first interval.
        if (state.textContent === "starting") render(refresh);
      } else if (name === "snapshot") {
        draw(data);
        logTail(id, log);
      } else if (name === "end" && local) {
        // `host run` ends with its run: what it leaves is in the terminal and --out's files.
        state.textContent = data.state;
        tools.replaceChildren(el("p", { id: "ended" }, "The run is over: its summary is in the terminal, and in the files of --out."));
      } else if (name === "end") {
        render(async () => {
          await refresh();
          const final = await (await api("/v1/runs/" + encodeURIComponent(id) + "/stats")).json();
          draw(final);
          series = await (await api("/v1/runs/" + encodeURIComponent(id) + "/series")).json();
          charts.update(series);
          await logTail(id, log);
        });
      }
    }).catch((err) => {
      // `host run` exits with its run: its stream may close before its `end` arrives.
      if (err.name !== "AbortError" && !local) throw err;
    });
    if (local && !signal.aborted && !document.getElementById("ended")) {
      tools.replaceChildren(el("p", { id: "ended" }, "The run is over (its page has stopped): its summary is in the terminal, and in the files of --out."));
    }
  }

  // ---- Comparing two runs ---------------------------------------------------------------

  /** Two finished runs side by side: totals and each request row, with the change from A to B. */
  async function compare(a, b) {
    const [ra, rb] = await Promise.all([a, b].map(async (id) => (await api("/v1/runs/" + encodeURIComponent(id) + "/report")).json()));
    const key = (r) => r.method + " " + r.name;
    const rowsA = new Map(ra.requests.map((r) => [key(r), r]));
    const rowsB = new Map(rb.requests.map((r) => [key(r), r]));
    const keys = [...new Set([...rowsA.keys(), ...rowsB.keys()])];
    keys.sort((x, y) => (x.trim() === "Aggregated") - (y.trim() === "Aggregated") || x.localeCompare(y));
    const change = (x, y) => (x == null || y == null ? "–" : x === 0 ? (y === 0 ? "0 %" : "new") :
      ((y - x) / x * 100 >= 0 ? "+" : "") + ((y - x) / x * 100).toFixed(1) + " %");
    const figures = [
      ["Requests", (r) => r.count, count], ["Fails", (r) => r.failures, count],
      ["RPS", (r) => r.rps, (v) => v.toFixed(1)], ["Median", (r) => r.duration.p50, ms],
      ["95%ile", (r) => r.duration.p95, ms], ["99%ile", (r) => r.duration.p99, ms], ["Max", (r) => r.duration.max, ms],
    ];
    const head = el("tr", {}, el("th", { scope: "col" }, "Request"), figures.map(([label]) =>
      ["A", "B", "Δ"].map((which) => el("th", { scope: "col", class: "num" }, label + " " + which))));
    const body = keys.map((k) => {
      const x = rowsA.get(k);
      const y = rowsB.get(k);
      return el("tr", { "data-row": k.trim() }, el("th", { scope: "row" }, k.trim()), figures.map(([label, pick, show]) => {
        const vx = x ? pick(x) : null;
        const vy = y ? pick(y) : null;
        return [el("td", { class: "num" }, vx == null ? "–" : show(vx)), el("td", { class: "num" }, vy == null ? "–" : show(vy)),
          el("td", { class: "num", "data-delta": label }, change(vx, vy))];
      }));
    });
    const about = (id, r) => el("span", {}, el("a", { href: "#/runs/" + id, class: "mono" }, short(id)), " ",
      r.status.state + ", started " + when(r.started_at) + ", " + r.elapsed.toFixed(1) + " s" +
      (r.thresholds.length ? (r.thresholds_passed ? ", thresholds passed" : ", thresholds failed") : ""));
    show(el("h1", {}, "Two runs compared"),
      el("ul", { id: "compared" }, el("li", {}, "A: ", about(a, ra)), el("li", {}, "B: ", about(b, rb))),
      el("div", { class: "table-wrap" }, el("table", { id: "comparison" },
        el("caption", {}, "Each request row in A and B; Δ is B's change from A"), el("thead", {}, head), el("tbody", {}, body))));
  }

  // ---- Routing ---------------------------------------------------------------------------

  function route() {
    if (local) {
      if (watching) watching.abort();
      return render(() => runPage("local"));
    }
    if (!sessionStorage.getItem(TOKEN_KEY)) return login();
    nav.hidden = false;
    const [path, query] = location.hash.replace(/^#/, "").split("?");
    const parts = path.split("/").filter(Boolean);
    for (const link of nav.querySelectorAll("a")) {
      link.toggleAttribute("aria-current", link.getAttribute("href") === "#/" + (parts[0] || "scenarios"));
      if (link.hasAttribute("aria-current")) link.setAttribute("aria-current", "page");
    }
    if (watching) watching.abort();
    if (parts[0] === "runs" && parts[1]) return render(() => runPage(decodeURIComponent(parts[1])));
    if (parts[0] === "runs") return render(() => runs(new URLSearchParams(query).get("state") || ""));
    if (parts[0] === "compare") {
      const params = new URLSearchParams(query);
      return render(() => compare(params.get("a"), params.get("b")));
    }
    if (parts[0] === "start") return render(() => startForm(new URLSearchParams(query).get("scenario") || ""));
    if (parts[0] === "scenarios" && parts[1]) return render(() => scenario(decodeURIComponent(parts[1])));
    return render(() => scenarios());
  }

  document.getElementById("logout").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    location.hash = "";
    login();
  });
  window.addEventListener("hashchange", route);
  fetch("/v1/local").then((response) => {
    local = response.ok;
  }).catch(() => {}).finally(route);
})();
