// Loadwright's dashboard, served by `host serve` at `/`: log in with a tenant's token, list,
// upload, inspect and delete scenarios, list runs and download their reports. Plain
// JavaScript, no build step; every datum comes from the /v1 API.
//
// The token lives in this tab's session storage and goes out only in the Authorization
// header, never in a URL. Every text from the server (scenario tasks, run reasons, error
// messages) is set as text, never parsed as markup.
"use strict";

(function () {
  const TOKEN_KEY = "loadwright.token";
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
    for (const child of children.flat()) {
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
      el("p", { class: "actions" }, el("a", { href: "#/scenarios" }, "Back to the scenarios")));
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
    show(el("h1", {}, "Runs"),
      el("div", { class: "filters" }, el("label", { for: "state-filter" }, "Show"), filter),
      list.length === 0 ? el("p", {}, "No run" + (state ? " is " + state : " yet") + ".") :
        el("div", { class: "table-wrap" }, el("table", { id: "runs" },
          el("thead", {}, el("tr", {}, ["Run", "Scenario", "State", "VUs", "Created", "Ended", "Reports"].map((h) => el("th", { scope: "col" }, h)))),
          el("tbody", {}, list.map((r) => el("tr", { "data-id": r.id },
            el("th", { scope: "row", class: "mono" }, r.id),
            el("td", { class: "mono" }, el("a", { href: "#/scenarios/" + r.scenario }, short(r.scenario))),
            el("td", {}, el("span", { class: "badge", title: r.reason || null }, r.state)),
            el("td", { class: "num" }, r.vus + " / " + r.vus_max),
            el("td", {}, when(r.created_at)),
            el("td", {}, when(r.ended_at)),
            el("td", {}, downloads(r))))))));
  }

  // ---- Routing ---------------------------------------------------------------------------

  function route() {
    if (!sessionStorage.getItem(TOKEN_KEY)) return login();
    nav.hidden = false;
    const [path, query] = location.hash.replace(/^#/, "").split("?");
    const parts = path.split("/").filter(Boolean);
    for (const link of nav.querySelectorAll("a")) {
      link.toggleAttribute("aria-current", link.getAttribute("href") === "#/" + (parts[0] || "scenarios"));
      if (link.hasAttribute("aria-current")) link.setAttribute("aria-current", "page");
    }
    if (parts[0] === "runs") return render(() => runs(new URLSearchParams(query).get("state") || ""));
    if (parts[0] === "scenarios" && parts[1]) return render(() => scenario(decodeURIComponent(parts[1])));
    return render(() => scenarios());
  }

  document.getElementById("logout").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    location.hash = "";
    login();
  });
  window.addEventListener("hashchange", route);
  route();
})();
