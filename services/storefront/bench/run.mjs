// `cargo xtask bench storefront`: starts `bookstore all` (the binary given as the first argument)
// on a free port with a fresh data folder, then measures with Debian's Chromium
// - the JavaScript a first visit to the catalogue downloads, compressed as sent;
// - Lighthouse's performance and accessibility scores of the catalogue and of a book page
//   (mobile emulation and simulated throttling, Lighthouse's defaults), the median of RUNS runs.
// Targets (issue: the storefront): first page's JavaScript <= 150 KiB compressed, performance
// >= 90 and accessibility >= 95 on both pages.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

import * as chromeLauncher from "chrome-launcher";
import lighthouse from "lighthouse";

const RUNS = Number(process.env.BOOKSTORE_BENCH_RUNS ?? 3);
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const CHROME_FLAGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const bin = process.argv[2];
if (!bin) {
  console.error("usage: node run.mjs <path of the bookstore binary>");
  process.exit(2);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForReady(url, child) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`bookstore exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/readyz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`bookstore at ${url} did not become ready`);
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** One Lighthouse run of `url`: the two scores and the scripts' transferred bytes. */
async function audit(url, port) {
  const result = await lighthouse(url, {
    port,
    output: "json",
    logLevel: "error",
    onlyCategories: ["performance", "accessibility"],
  });
  const lhr = result.lhr;
  const requests = lhr.audits["network-requests"].details.items;
  const scriptBytes = requests
    .filter((request) => request.resourceType === "Script")
    .reduce((sum, request) => sum + request.transferSize, 0);
  return {
    performance: Math.round(lhr.categories.performance.score * 100),
    accessibility: Math.round(lhr.categories.accessibility.score * 100),
    scriptKiB: scriptBytes / 1024,
    lcpMs: lhr.audits["largest-contentful-paint"].numericValue,
  };
}

const dataDir = mkdtempSync(path.join(tmpdir(), "bookstore-bench-storefront-"));
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const shop = spawn(bin, ["all", "--listen", `127.0.0.1:${port}`, "--data-dir", dataDir], {
  stdio: ["ignore", "ignore", "inherit"],
  env: { ...process.env, RUST_LOG: "warn" },
});
let chrome;
try {
  await waitForReady(base, shop);
  const books = await (await fetch(`${base}/api/v1/books?limit=1&sort=title`)).json();
  const pages = [
    ["catalogue", `${base}/`],
    ["book page", `${base}/books/${books.items[0].id}`],
  ];
  chrome = await chromeLauncher.launch({ chromePath: CHROMIUM, chromeFlags: CHROME_FLAGS });
  const rows = [];
  for (const [name, url] of pages) {
    const runs = [];
    for (let run = 0; run < RUNS; run += 1) {
      runs.push(await audit(url, chrome.port));
      process.stderr.write(`  ${name}: run ${run + 1} of ${RUNS}\n`);
    }
    rows.push({
      page: name,
      performance: median(runs.map((r) => r.performance)),
      accessibility: median(runs.map((r) => r.accessibility)),
      scriptKiB: median(runs.map((r) => r.scriptKiB)),
      lcpMs: median(runs.map((r) => r.lcpMs)),
    });
  }
  console.log(`\nstorefront against bookstore all (medians of ${RUNS} Lighthouse runs, mobile, simulated throttling)`);
  console.log("| page | performance | accessibility | JavaScript sent (KiB, compressed) | LCP (ms) |");
  console.log("|---|---|---|---|---|");
  for (const row of rows) {
    console.log(
      `| ${row.page} | ${row.performance} | ${row.accessibility} | ${row.scriptKiB.toFixed(1)} | ${Math.round(row.lcpMs)} |`,
    );
  }
  const missed = rows.filter((r) => r.performance < 90 || r.accessibility < 95 || r.scriptKiB > 150);
  console.log(
    missed.length === 0
      ? "targets met: performance >= 90, accessibility >= 95, JavaScript <= 150 KiB on every page"
      : `targets missed on: ${missed.map((r) => r.page).join(", ")}`,
  );
} finally {
  if (chrome) await chrome.kill();
  shop.kill("SIGTERM");
  await new Promise((resolve) => shop.once("exit", resolve));
  rmSync(dataDir, { recursive: true, force: true });
}
