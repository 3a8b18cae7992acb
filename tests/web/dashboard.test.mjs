// The dashboard of `host serve` in headless Chromium: a wrong token shows an error and no
// data; the right one lists scenarios; the upload control uploads the shop example, whose
// details show its tasks; a finished run is listed with its state and its HTML report
// downloads; a run started from the form is followed live (charts and tables from the
// stream), its VUs changed, stopped and reviewed; two runs compared; deleting a scenario
// removes it.
// Screenshots of each page go to SCREENSHOTS.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";

import { SCREENSHOTS, guest, launch, startHost } from "./browser.mjs";

const TOKEN = "acme-token";
const sha256 = (text) => createHash("sha256").update(text).digest("hex");
const dir = mkdtempSync(join(tmpdir(), "loadwright-dashboard-"));
let server;
let target;
let browser;
let page;

before(async () => {
  const config = join(dir, "server.toml");
  writeFileSync(config, `admin-token-sha256 = "${sha256("admin-token")}"
max-vus = 50

[[tenant]]
name = "acme"
token-sha256 = ["${sha256(TOKEN)}"]
egress = { allow = ["127.0.0.0/8"] }
`);
  server = await startHost(["serve", "--listen", "127.0.0.1:0", "--data-dir", join(dir, "data"), "--config", config]);
  target = await startHost(["target", "--listen", "127.0.0.1:0"]);
  browser = await launch();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  page = await context.newPage();
  page.on("pageerror", (err) => assert.fail(`script error: ${err.message}`));
});

after(async () => {
  await browser?.close();
  server?.child.kill();
  target?.child.kill();
});

/** The API as the tenant, for comparing what the page shows. */
async function api(path, options = {}) {
  const response = await fetch(server.url + path, {
    ...options,
    headers: { Authorization: `Bearer ${TOKEN}`, ...(options.headers || {}) },
  });
  assert.ok(response.ok, `${path}: ${response.status}`);
  return response.json();
}

async function logIn(token) {
  await page.fill("#token", token);
  await page.click("form.login button[type=submit]");
}

test("the first load is small and quick", async () => {
  // Every file the page loads, gzipped as a server or proxy would send it.
  let gzipped = 0;
  for (const path of ["/", "/ui/app.js", "/ui/base.css", "/ui/app.css", "/ui/charts.js", "/ui/uPlot.iife.min.js", "/ui/uPlot.min.css"]) {
    const response = await fetch(server.url + path);
    assert.equal(response.status, 200, path);
    gzipped += gzipSync(Buffer.from(await response.arrayBuffer())).length;
  }
  assert.ok(gzipped < 300_000, `${gzipped} bytes gzipped`);
  const started = Date.now();
  await page.goto(server.url + "/");
  await page.waitForSelector("#token:focus");
  console.log(`dashboard: first load ${gzipped} bytes gzipped, login form ready ${Date.now() - started} ms after navigating`);
});

test("a wrong token shows an error and no data", async () => {
  await page.goto(server.url + "/");
  await page.waitForSelector("#token");
  await page.screenshot({ path: join(SCREENSHOTS, "dashboard-login.png") });
  await logIn("not-the-token");
  const error = await page.waitForSelector("[role=alert]");
  assert.match(await error.textContent(), /refused/);
  assert.equal(await page.locator("#scenarios, #runs").count(), 0);
  assert.equal(await page.isHidden("#nav"), true);
  assert.equal(await page.evaluate(() => sessionStorage.getItem("loadwright.token")), null);
  assert.ok(!page.url().includes("not-the-token"), "the token is never in the URL");
});

test("log in, upload the shop example by the upload control, see its details", async () => {
  await logIn(TOKEN);
  await page.waitForSelector("#drop");
  assert.ok(!page.url().includes(TOKEN));
  await page.setInputFiles("#upload", guest("shop"));
  await page.waitForSelector("#scenarios tbody tr");
  const listed = await api("/v1/scenarios");
  assert.equal(listed.length, 1);
  const id = listed[0].id;
  assert.equal(await page.getAttribute("#scenarios tbody tr", "data-id"), id);
  assert.match(await page.textContent("[role=status]"), /Uploaded shop\.wasm/);
  await page.screenshot({ path: join(SCREENSHOTS, "dashboard-scenarios.png") });

  await page.click(`#scenarios a[href="#/scenarios/${id}"]`);
  await page.waitForSelector("#tasks");
  assert.equal(await page.textContent("#hash"), id);
  const tasks = await page.$$eval("#tasks tbody tr", (rows) => rows.map((r) => [r.cells[0].textContent, Number(r.cells[1].textContent)]));
  assert.deepEqual(tasks, listed[0].tasks.map((t) => [t.name, t.weight]));
  const imports = await page.$$eval("#imports li", (items) => items.map((i) => i.textContent));
  assert.deepEqual(imports, listed[0].imports);
  await page.screenshot({ path: join(SCREENSHOTS, "dashboard-scenario.png"), fullPage: true });
});

test("a finished run is listed with its state, and its HTML report downloads", async () => {
  const [scenario] = await api("/v1/scenarios");
  const run = await api("/v1/runs", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ scenario: scenario.id, base_url: target.url, vus: 2, iterations: 10 }),
  });
  for (let i = 0; i < 600; i++) {
    const state = (await api(`/v1/runs/${run.id}`)).state;
    if (state === "completed") break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await page.click("#nav a[href='#/runs']");
  await page.waitForSelector(`#runs tr[data-id="${run.id}"]`);
  assert.equal(await page.textContent(`#runs tr[data-id="${run.id}"] .badge`), "completed");
  await page.selectOption("#state-filter", "running");
  await page.waitForSelector("text=No run is running.");
  await page.selectOption("#state-filter", "completed");
  await page.waitForSelector(`#runs tr[data-id="${run.id}"]`);
  await page.screenshot({ path: join(SCREENSHOTS, "dashboard-runs.png") });

  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.click(`#runs tr[data-id="${run.id}"] button:has-text("HTML")`),
  ]);
  const html = readFileSync(await download.path(), "utf8");
  assert.ok(html.startsWith("<!doctype html>"));
  assert.ok(html.includes('"http_reqs"'), "the report carries the run's summary");
});

test("a run started from the form is followed live, controlled, stopped and reviewed", async () => {
  const [scenario] = await api("/v1/scenarios");
  await page.click("#nav a[href='#/runs']");
  await page.click("#start-run");
  await page.waitForSelector("form.start");
  await page.selectOption("#run-scenario", scenario.id);
  // A malformed field is named before anything is sent; the server's refusals are shown too.
  await page.selectOption("#run-model", "stages");
  await page.fill("#run-stages", "30s:ten");
  await page.click("form.start button[type=submit]");
  assert.match(await page.textContent("#start-status [role=alert]"), /Stages: "30s:ten" needs the form DURATION:TARGET/);
  await page.selectOption("#run-model", "rate");
  await page.fill("#run-rate", "10");
  await page.fill("#run-duration", "forever");
  await page.click("form.start button[type=submit]");
  await page.waitForFunction(() => /forever/.test(document.querySelector("#start-status [role=alert]")?.textContent ?? ""));
  assert.deepEqual(await api("/v1/runs?state=running"), []);
  await page.selectOption("#run-model", "duration");
  await page.fill("#run-vus", "2");
  await page.fill("#run-max_vus", "4");
  await page.fill("#run-duration", "2m");
  await page.fill("#run-base_url", target.url);
  await page.fill("#run-thresholds", "http_req_failed: rate<0.5\nhttp_req_duration{name:/items}: p(99)<5000");
  await page.screenshot({ path: join(SCREENSHOTS, "dashboard-start.png") });
  await page.click("form.start button[type=submit]");
  await page.waitForURL(/#\/runs\/[0-9a-f]+/);
  const id = page.url().split("#/runs/")[1];

  // The charts gain a point per interval, from the stream.
  const points = () => page.getAttribute("#chart-rate", "data-points").then(Number);
  await page.waitForFunction(() => Number(document.querySelector("#chart-rate")?.dataset.points) >= 2, null, { timeout: 30_000 });
  const before = await points();
  await page.waitForFunction((n) => Number(document.querySelector("#chart-rate")?.dataset.points) > n, before, { timeout: 30_000 });

  // The response-time chart draws the percentiles chosen, a choice the browser keeps.
  const lines = () => page.getAttribute("#chart-latency", "data-lines");
  assert.equal(await lines(), "p50,p90,p95,p99,max");
  await page.check("#percentile-p99\\.9");
  await page.uncheck("#percentile-p50");
  assert.equal(await lines(), "p90,p95,p99,p99.9,max");
  assert.ok(Number(await page.getAttribute("#chart-latency", "data-points")) >= 2, "redrawn with the series so far");
  assert.deepEqual(JSON.parse(await page.evaluate(() => localStorage.getItem("loadwright.percentiles"))), ["p90", "p95", "p99", "p99.9"]);

  // The request table's counts grow, never ahead of the API's statistics.
  const tableCount = () => page.textContent("#requests-total [data-col=count]").then((t) => Number(t.replace(/,/g, "")));
  const shown = await tableCount();
  assert.ok(shown > 0);
  assert.ok(shown <= (await api(`/v1/runs/${id}/stats`)).total.count);
  await page.waitForFunction((n) => Number((document.querySelector("#requests-total [data-col=count]")?.textContent ?? "0").replace(/,/g, "")) > n, shown, { timeout: 30_000 });
  // The breakdown chart draws a line per request row, then per status, from the stream.
  const breakdownLines = () => page.getAttribute("#chart-breakdown", "data-lines").then((l) => l.split(","));
  const rowNames = (await api(`/v1/runs/${id}/stats`)).requests.map((r) => r.method + " " + r.name);
  const drawn = await breakdownLines();
  assert.ok(drawn.length > 0 && drawn.every((line) => rowNames.includes(line)), `${drawn} within ${rowNames}`);
  await page.focus("#breakdown-by");
  await page.selectOption("#breakdown-by", "status");
  await page.waitForFunction(() => /(^|,)200(,|$)/.test(document.querySelector("#chart-breakdown")?.dataset.lines ?? ""), null, { timeout: 10_000 });
  assert.equal(await page.evaluate(() => document.activeElement?.id), "breakdown-by", "the select keeps the focus");
  assert.match(await page.textContent("#tags"), /status\s*200/);
  assert.match(await page.textContent("#thresholds"), /http_req_failed rate<0.5/);
  assert.match(await page.textContent("#thresholds"), /http_req_duration\{name:\/items\} p\(99\)<5000/);
  await page.screenshot({ path: join(SCREENSHOTS, "dashboard-live.png"), fullPage: true });

  // More VUs: the VU line of the chart follows.
  await page.fill("#set-vus", "4");
  await page.click("#apply-vus");
  await page.waitForFunction(() => JSON.parse(document.querySelector("#chart-vus")?.dataset.last || "[0]")[0] === 4, null, { timeout: 30_000 });

  // Stopped: the final figures are the API's.
  await page.click("#stop");
  await page.waitForFunction(() => document.querySelector("#run-state")?.textContent === "stopped", null, { timeout: 60_000 });
  const final = await api(`/v1/runs/${id}/stats`);
  await page.waitForFunction((n) => Number((document.querySelector("#requests-total [data-col=count]")?.textContent ?? "0").replace(/,/g, "")) === n, final.total.count, { timeout: 30_000 });

  // The finished run, opened again: the stored series and statistics, and its files.
  await page.reload();
  await page.waitForSelector("#requests-total");
  assert.equal(await tableCount(), final.total.count);
  assert.equal(await points(), (await api(`/v1/runs/${id}/series`)).length);
  // The request table sorts from its headers: largest count first, then the other way.
  const rowCounts = () => page.$$eval("#requests tbody td[data-col=count]", (tds) => tds.map((td) => Number(td.textContent.replace(/,/g, ""))));
  const apiCounts = final.requests.map((r) => r.count);
  assert.deepEqual(await rowCounts(), apiCounts.slice().sort((a, b) => b - a));
  await page.click("#requests thead th:nth-child(3) button");
  assert.deepEqual(await rowCounts(), apiCounts.slice().sort((a, b) => a - b));
  assert.equal(await page.getAttribute("#requests thead th:nth-child(3)", "aria-sort"), "ascending");
  const log = await api(`/v1/runs/${id}/log`);
  const tail = await page.textContent("#log-box");
  if (log.length) assert.ok(tail.includes(log[log.length - 1].message), tail);
  else assert.match(tail, /logged nothing/);
  await page.screenshot({ path: join(SCREENSHOTS, "dashboard-finished.png"), fullPage: true });
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.click("button:has-text('CSV')"),
  ]);
  const csv = readFileSync(await download.path(), "utf8");
  assert.ok(csv.startsWith("Type,Name,Request Count,"), csv.slice(0, 80));
  assert.ok(csv.includes(`,Aggregated,${final.total.count},`), csv);

  // On a narrow screen the page does not scroll sideways: wide tables scroll in their box.
  await page.setViewportSize({ width: 390, height: 800 });
  await page.waitForFunction(() => document.documentElement.scrollWidth <= 390, null, { timeout: 5_000 });
  await page.screenshot({ path: join(SCREENSHOTS, "dashboard-narrow.png") });
  await page.setViewportSize({ width: 1280, height: 800 });
});

test("two finished runs are compared side by side", async () => {
  const finished = (await api("/v1/runs")).filter((r) => r.state === "completed" || r.state === "stopped");
  assert.equal(finished.length, 2);
  const [b, a] = finished; // newest first: the older is A
  await page.click("#nav a[href='#/runs']");
  await page.waitForSelector("#runs");
  assert.equal(await page.isDisabled("#compare"), true);
  await page.check(`#runs tr[data-id="${a.id}"] input[type=checkbox]`);
  await page.check(`#runs tr[data-id="${b.id}"] input[type=checkbox]`);
  await page.click("#compare");
  await page.waitForSelector("#comparison");
  const reportA = await api(`/v1/runs/${a.id}/report`);
  const reportB = await api(`/v1/runs/${b.id}/report`);
  const total = (r) => r.requests.find((row) => row.name === "Aggregated").count;
  const cells = await page.$$eval('#comparison tr[data-row="Aggregated"] td', (tds) => tds.map((td) => td.textContent));
  assert.equal(Number(cells[0].replace(/,/g, "")), total(reportA));
  assert.equal(Number(cells[1].replace(/,/g, "")), total(reportB));
  const change = ((total(reportB) - total(reportA)) / total(reportA)) * 100;
  assert.equal(cells[2], (change >= 0 ? "+" : "") + change.toFixed(1) + " %");
  await page.screenshot({ path: join(SCREENSHOTS, "dashboard-compare.png"), fullPage: true });
});

test("deleting a scenario removes it", async () => {
  const [scenario] = await api("/v1/scenarios");
  await page.click("#nav a[href='#/scenarios']");
  await page.waitForSelector(`#scenarios tr[data-id="${scenario.id}"]`);
  page.once("dialog", (dialog) => dialog.accept());
  await page.click(`#scenarios tr[data-id="${scenario.id}"] button.danger`);
  await page.waitForSelector("text=No scenario yet");
  assert.deepEqual(await api("/v1/scenarios"), []);
});
