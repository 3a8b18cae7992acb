// `host run --web`: the run page of a local run in headless Chromium, with no login; its
// charts follow the run, its VUs change from the page, and Stop ends the run, which exits
// without waiting for the browser.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { after, test } from "node:test";
import assert from "node:assert/strict";

import { HOST, SCREENSHOTS, guest, launch } from "./browser.mjs";

let browser;
after(async () => {
  await browser?.close();
});

/** Starts `host run` with `--web` and resolves with the process and the page's address. */
function startRun() {
  return new Promise((resolve, reject) => {
    const child = spawn(HOST, ["run", guest("shop"), "--target-demo", "--vus", "2", "--max-vus", "4",
      "--duration", "2m", "--quiet", "--web", "127.0.0.1:0"], { stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    child.stdout.resume();
    child.on("exit", (code) => reject(new Error(`host run exited (${code}): ${text}`)));
    child.stderr.on("data", (chunk) => {
      text += chunk;
      const match = text.match(/run page at (http:\/\/\S+)\//);
      if (match) resolve({ child, url: match[1] });
    });
  });
}

test("the run page of host run --web follows the run and stops it", async () => {
  const { child, url } = await startRun();
  const exited = new Promise((resolve) => child.on("exit", resolve));
  browser = await launch();
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on("pageerror", (err) => errors.push(err.message));
  await page.goto(url + "/");
  await page.waitForSelector("#run-state");
  assert.equal(await page.locator("#token").count(), 0, "no login for a local run");
  // The address is announced as the run starts: its VUs may still be starting.
  await page.waitForFunction(() => document.querySelector("#run-state")?.textContent === "running", null, { timeout: 30_000 });
  await page.waitForFunction(() => Number(document.querySelector("#chart-rate")?.dataset.points) >= 2, null, { timeout: 30_000 });

  await page.fill("#set-vus", "4");
  await page.click("#apply-vus");
  await page.waitForFunction(() => JSON.parse(document.querySelector("#chart-vus")?.dataset.last || "[0]")[0] === 4, null, { timeout: 30_000 });
  await page.screenshot({ path: join(SCREENSHOTS, "run-web.png"), fullPage: true });

  await page.click("#stop");
  await page.waitForSelector("#ended", { timeout: 60_000 });
  assert.equal(await page.textContent("#run-state"), "stopped");
  assert.equal(await exited, 0, "host run ends with its run, the page still open");
  assert.deepEqual(errors, []);
});
