// The dashboard of `host serve` in headless Chromium: a wrong token shows an error and no
// data; the right one lists scenarios; the upload control uploads the shop example, whose
// details show its tasks; a finished run is listed with its state and its HTML report
// downloads; deleting a scenario removes it. Screenshots of each page go to SCREENSHOTS.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

test("deleting a scenario removes it", async () => {
  const [scenario] = await api("/v1/scenarios");
  await page.click("#nav a[href='#/scenarios']");
  await page.waitForSelector(`#scenarios tr[data-id="${scenario.id}"]`);
  page.once("dialog", (dialog) => dialog.accept());
  await page.click(`#scenarios tr[data-id="${scenario.id}"] button.danger`);
  await page.waitForSelector("text=No scenario yet");
  assert.deepEqual(await api("/v1/scenarios"), []);
});
