// Starts a real shop for the end-to-end tests: `bookstore all` on a free port with a fresh data
// folder, and the built app in front of it.
//
// How the app is served is decided in one place, `serveMode()`:
// - "embedded" (the default): the binary serves the copy of the app built into it, which cargo
//   rebuilds from these sources whenever they change;
// - "vite-preview" (BOOKSTORE_E2E_SERVE=vite-preview): `vite preview` serves this folder's
//   `dist/` and proxies /api and /socket.io to the binary, to try the app against a binary
//   built from other sources.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const DIST = path.join(ROOT, "dist");
export const TMP = path.join(ROOT, ".e2e-tmp");

export interface Shop {
  /** Where the browser opens the app. */
  baseUrl: string;
  /** The binary's own address (API, Socket.IO). */
  apiUrl: string;
  adminEmail: string;
  adminPassword: string;
  mode: ServeMode;
  stop: () => Promise<void>;
}

export type ServeMode = "embedded" | "vite-preview";

export function bookstoreBin(): string {
  const bin = process.env.BOOKSTORE_BIN;
  const candidates = [bin, path.join(ROOT, "../../target/debug/bookstore"), path.join(ROOT, "../../target/release/bookstore")];
  for (const c of candidates) if (c && existsSync(c)) return c;
  throw new Error("Set BOOKSTORE_BIN to a built `bookstore` binary (e.g. target/debug/bookstore).");
}

/** The one switch between the two ways of serving the app. */
export function serveMode(): ServeMode {
  return process.env.BOOKSTORE_E2E_SERVE === "vite-preview" ? "vite-preview" : "embedded";
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 60_000, child?: ChildProcess) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(`${what} exited early; see ${TMP}`);
    }
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

export interface ShopOptions {
  name: string;
  /** Lifetime of access tokens, for the session-expiry test. */
  accessTokenTtlSeconds?: number;
}

export async function startShop(options: ShopOptions): Promise<Shop> {
  const bin = bookstoreBin();
  const mode = serveMode();
  mkdirSync(TMP, { recursive: true });
  const dataDir = mkdtempSync(path.join(tmpdir(), `bookstore-e2e-${options.name}-`));
  const port = await freePort();
  const apiUrl = `http://127.0.0.1:${port}`;
  const log = createWriteStream(path.join(TMP, `${options.name}-bookstore.log`));
  const args = ["all", "--listen", `127.0.0.1:${port}`, "--data-dir", dataDir, "--log-format", "text"];
  // Many sign-ups come from one address in a test run.
  args.push("--auth-rate-per-client", "100000", "--auth-rate-per-account", "100000");
  if (options.accessTokenTtlSeconds) args.push("--access-token-ttl-seconds", String(options.accessTokenTtlSeconds));
  // Summaries come from the built-in extractive summariser, whatever model the caller's
  // environment names: the journeys check the summary's text.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("OPENAI_")));
  const shop = spawn(bin, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  shop.stdout.pipe(log);
  shop.stderr.pipe(log);
  const children: ChildProcess[] = [shop];
  const stop = async () => {
    for (const c of children.reverse()) await stopProcess(c);
    rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    await waitUntil(async () => (await fetch(`${apiUrl}/readyz`)).ok, `bookstore at ${apiUrl}`, 120_000, shop);
    const passwordFile = path.join(dataDir, "initial-admin-password");
    await waitUntil(() => Promise.resolve(existsSync(passwordFile)), "the initial admin password");
    const adminPassword = readFileSync(passwordFile, "utf8").trim();

    let baseUrl = apiUrl;
    if (mode === "vite-preview") {
      const previewPort = await freePort();
      const vite = spawn(
        process.execPath,
        [path.join(ROOT, "node_modules/vite/bin/vite.js"), "preview", "--port", String(previewPort), "--strictPort", "--bypass-lock"],
        { cwd: ROOT, env: { ...process.env, BOOKSTORE_URL: apiUrl }, stdio: ["ignore", "pipe", "pipe"] },
      );
      vite.stdout.pipe(log);
      vite.stderr.pipe(log);
      children.push(vite);
      baseUrl = `http://127.0.0.1:${previewPort}`;
      await waitUntil(async () => (await fetch(`${baseUrl}/api/v1/books?limit=1`)).ok, `vite preview at ${baseUrl}`, 60_000, vite);
    } else {
      await waitUntil(async () => (await fetch(`${baseUrl}/`)).ok, `the app at ${baseUrl}`);
    }
    return { baseUrl, apiUrl, adminEmail: "admin@bookstore.local", adminPassword, mode, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Builds the app into dist/ (skipped with BOOKSTORE_E2E_SKIP_BUILD=1 when dist/ is current). */
export function buildApp() {
  if (process.env.BOOKSTORE_E2E_SKIP_BUILD === "1" && existsSync(path.join(DIST, "index.html"))) return;
  execFileSync(process.execPath, [path.join(ROOT, "node_modules/vite/bin/vite.js"), "build", "--logLevel", "warn"], {
    cwd: ROOT,
    stdio: "inherit",
  });
}
