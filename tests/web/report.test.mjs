// The HTML report (`host run --out html=FILE`) opened from disk in headless Chromium with
// the network cut: the charts are drawn, the totals and tables equal the JSON summary of
// the same run, names from the scenario stay text, and the page fits a narrow screen.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";

import { HOST, SCREENSHOTS, guest, launch } from "./browser.mjs";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "loadwright-report-"));
const htmlPath = join(dir, "report.html");
const jsonPath = join(dir, "summary.json");
let summary;
let browser;

before(async () => {
  // The shop example against the built-in demo target: several request rows, checks,
  // thresholds and a custom metric, and about four intervals of series.
  await run(HOST, [
    "run", guest("shop"), "--target-demo", "--vus", "4", "--duration", "4s", "--quiet",
    "--out", `json=${jsonPath}`, "--out", `html=${htmlPath}`,
  ], { timeout: 120_000 });
  summary = JSON.parse(readFileSync(jsonPath, "utf8"));
  browser = await launch();
});

after(async () => {
  await browser?.close();
});

/** Opens `file` with every request that is not the file itself refused and recorded. */
async function open(file, viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ offline: true, viewport });
  const fetched = [];
  const url = pathToFileURL(file).href;
  await context.route("**/*", (route) => {
    if (route.request().url() === url) return route.continue();
    fetched.push(route.request().url());
    return route.abort();
  });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (err) => errors.push(err.message));
  const started = Date.now();
  await page.goto(url);
  await page.waitForSelector("body[data-ready=true]", { timeout: 10_000 });
  return { page, context, fetched, errors, loadMs: Date.now() - started };
}

const aggregated = () => summary.requests.find((r) => r.name === "Aggregated" && r.method === "");

test("the report draws its charts offline and shows the summary's totals", async () => {
  const { page, context, fetched, errors, loadMs } = await open(htmlPath);
  assert.deepEqual(errors, [], "no script error");
  assert.deepEqual(fetched, [], "the page fetches nothing");

  // Four charts (rate, response times, VUs, and the breakdown by name), each a uPlot canvas
  // with the run's intervals and pixels drawn on it.
  const charts = await page.$$eval(".chart", (figures) => figures.map((f) => {
    const canvas = f.querySelector("canvas");
    if (!canvas) return { id: f.id, drawn: 0 };
    const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let drawn = 0;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) drawn += 1;
    return { id: f.id, points: Number(f.dataset.points), drawn };
  }));
  assert.equal(charts.length, 4, JSON.stringify(charts));
  for (const chart of charts) {
    assert.ok(chart.points >= 2, `${chart.id} has the run's intervals: ${chart.points}`);
    assert.ok(chart.drawn > 500, `${chart.id} has lines drawn: ${chart.drawn} pixels`);
  }

  // The totals are the summary's.
  const total = (key) => page.textContent(`[data-total=${key}]`);
  const count = (text) => Number(text.replace(/,/g, ""));
  assert.equal(count(await total("requests")), aggregated().count);
  assert.ok(aggregated().count > 0);
  assert.equal(count(await total("failures")), aggregated().failures);
  assert.equal(count(await total("iterations")), summary.metrics.iterations.values.count);
  assert.equal(await page.textContent("[data-testid=state]"), summary.status.state);

  // One table row per request row, sortable by count from its header (by keyboard too).
  const rows = summary.requests.filter((r) => r !== aggregated());
  const names = await page.$$eval("#requests tbody th", (ths) => ths.map((th) => th.textContent));
  assert.deepEqual(names.slice().sort(), rows.map((r) => r.name).sort());
  await page.focus("#requests thead th:nth-child(3) button");
  await page.keyboard.press("Enter");
  const counts = await page.$$eval("#requests tbody tr td:nth-child(3)",
    (tds) => tds.map((td) => Number(td.textContent.replace(/,/g, ""))));
  assert.deepEqual(counts, rows.map((r) => r.count).sort((a, b) => b - a), "sorted by count, largest first");
  assert.equal(await page.getAttribute("#requests thead th:nth-child(3)", "aria-sort"), "descending");

  // Each row's phases: the mean time waiting for the first byte, as the summary has it.
  const headers = await page.$$eval("#requests thead th", (ths) => ths.map((th) => th.textContent));
  const wait = headers.indexOf("Wait") + 1;
  assert.ok(wait > 0, headers.join());
  const first = await page.$eval("#requests tbody tr", (tr) => tr.querySelector("th").textContent);
  const firstRow = rows.find((r) => r.name === first);
  const shownWait = await page.$eval(`#requests tbody tr td:nth-child(${wait})`, (td) => td.textContent);
  assert.ok(firstRow.phases.waiting > 0);
  const expected = firstRow.phases.waiting < 1 ? firstRow.phases.waiting * 1000 : firstRow.phases.waiting;
  assert.ok(Math.abs(Number.parseFloat(shownWait.replace(/,/g, "")) - expected) <= 0.006, `${shownWait} for ${expected}`);

  // The breakdown by request name: one line per row, busiest first; by the status tag.
  const breakdownLines = () => page.getAttribute("#chart-breakdown", "data-lines").then((l) => l.split(","));
  const rowNames = rows.map((r) => r.method + " " + r.name);
  assert.deepEqual((await breakdownLines()).slice().sort(), rowNames.sort());
  await page.selectOption("#breakdown-by", "status");
  const statuses = summary.tags.filter((t) => t.tag === "status").map((t) => t.value);
  assert.ok(statuses.includes("200"), JSON.stringify(summary.tags));
  assert.deepEqual((await breakdownLines()).slice().sort(), statuses.slice().sort());
  await page.selectOption("#breakdown-measure", "mean");
  assert.match(await page.textContent("#chart-breakdown figcaption"), /By tag status: mean response time/);

  // Requests by tag: the summary's tag values, the status among them.
  const tagRows = await page.$$eval("#tags tbody tr", (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
  assert.deepEqual(tagRows.map((r) => r[0] + "=" + r[1]), summary.tags.map((t) => t.tag + "=" + t.value));
  const ok = summary.tags.find((t) => t.tag === "status" && t.value === "200");
  assert.ok(tagRows.some((r) => r[0] === "status" && Number(r[2].replace(/,/g, "")) === ok.requests));

  // Checks and thresholds, as the summary has them.
  const checks = await page.$$eval("#checks tbody th", (ths) => ths.map((th) => th.textContent));
  assert.deepEqual(checks, summary.checks.map((c) => c.name));
  assert.equal(await page.textContent("[data-testid=verdict]"),
    summary.thresholds_passed ? "thresholds passed" : "thresholds failed");

  await page.screenshot({ path: join(SCREENSHOTS, "report.png"), fullPage: true });
  const bytes = statSync(htmlPath).size;
  const gzipped = gzipSync(readFileSync(htmlPath)).length;
  console.log(`report: ${bytes} bytes (${gzipped} gzip), drawn ${loadMs} ms after opening`);
  await context.close();
});

test("names from the scenario are shown as text, never run as markup", async () => {
  const page = readFileSync(htmlPath, "utf8");
  const marker = 'id="report-data">';
  const start = page.indexOf(marker) + marker.length;
  const end = page.indexOf("</script>", start);
  const data = JSON.parse(page.slice(start, end));
  const hostile = '<img src=x onerror="window.pwned=1">';
  data.summary.requests[0].name = hostile;
  data.summary.checks[0].name = hostile;
  data.summary.tags[0].value = hostile;
  data.series[0].by_name[0].name = hostile;
  const json = JSON.stringify(data).replace(/</g, "\\u003c");
  const file = join(dir, "hostile.html");
  writeFileSync(file, page.slice(0, start) + json + page.slice(end));

  const { page: tab, context, errors } = await open(file);
  assert.deepEqual(errors, []);
  assert.equal(await tab.evaluate(() => window.pwned), undefined);
  assert.equal(await tab.locator("img").count(), 0);
  assert.ok((await tab.textContent("#requests tbody")).includes(hostile));
  assert.ok((await tab.textContent("#checks tbody")).includes(hostile));
  assert.ok((await tab.textContent("#tags tbody")).includes(hostile));
  assert.ok((await tab.getAttribute("#chart-breakdown", "data-lines")).includes(hostile));
  await context.close();
});

test("the report fits a narrow screen", async () => {
  const { page, context } = await open(htmlPath, { width: 390, height: 800 });
  const widths = await page.evaluate(() => ({
    page: document.documentElement.scrollWidth,
    canvas: Math.max(...[...document.querySelectorAll("canvas")].map((c) => c.getBoundingClientRect().width)),
  }));
  assert.ok(widths.page <= 390, `no sideways scrolling: ${widths.page}px`);
  assert.ok(widths.canvas <= 390, `charts fit: ${widths.canvas}px`);
  await page.screenshot({ path: join(SCREENSHOTS, "report-narrow.png"), fullPage: true });
  await context.close();
});
