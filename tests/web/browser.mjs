// What every browser test shares: where the built host and guests are, and Debian's
// Chromium started headless by playwright-core (no browser download: scripts/setup.sh --web
// installs the `chromium` package).
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

/** The repository's root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The host binary under test: LOADWRIGHT_HOST, or the debug build `cargo test` made. */
export const HOST = process.env.LOADWRIGHT_HOST || join(ROOT, "target", "debug", "host");

/** A guest built by `cargo test` (tests/build.rs) for wasm32-wasip2. */
export function guest(name) {
  return join(ROOT, "target", "wasm", "wasm32-wasip2", "release", `${name}.wasm`);
}

/** Where screenshots go, relative to the root: SCREENSHOTS_DIR (docs/web refreshes the docs' copies), or target/screenshots. */
export const SCREENSHOTS = resolve(ROOT, process.env.SCREENSHOTS_DIR || join("target", "screenshots"));
mkdirSync(SCREENSHOTS, { recursive: true });

/**
 * Headless Chromium with no background traffic (this machine has no network to give it).
 * A browser that dies while starting (Debian's Chromium crashed with SIGSEGV at launch once
 * in many runs here) is started once more: the tests are about the pages, not the launch.
 */
export async function launch() {
  try {
    return await launchOnce();
  } catch (err) {
    console.error(`Chromium did not start (${err.message.split("\n")[0]}); starting it again`);
    return launchOnce();
  }
}

function launchOnce() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/**
 * Starts `host ARGS...` and resolves with the process and the first http:// URL it prints
 * on its first line (`host serve` and `host target` both announce where they listen).
 */
export function startHost(args) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(HOST, args, { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, RUST_LOG: "warn" } });
    let text = "";
    const timer = setTimeout(() => reject(new Error(`host ${args[0]} printed no URL: ${text}`)), 60_000);
    child.on("exit", (code) => reject(new Error(`host ${args[0]} exited (${code}): ${text}`)));
    child.stdout.on("data", (chunk) => {
      text += chunk;
      const url = text.split("\n")[0].split(/\s+/).find((w) => w.startsWith("http://"));
      if (url && text.includes("\n")) {
        clearTimeout(timer);
        child.stdout.resume();
        resolvePromise({ child, url: url.replace(/\/$/, "") });
      }
    });
  });
}
