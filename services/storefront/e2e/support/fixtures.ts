import AxeBuilder from "@axe-core/playwright";
import { test as base, expect, type APIRequestContext, type Locator, type Page } from "@playwright/test";

export { expect };

export const PASSWORD = "a quiet harbour at dawn 42";

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through playwright.config.ts`);
  return value;
}

export const test = base.extend<{ cspGuard: undefined }>({
  // The shop's address is known only once the global setup has started it.
  // eslint-disable-next-line no-empty-pattern -- Playwright reads a fixture's dependencies from this pattern
  baseURL: async ({}, use) => {
    await use(env("E2E_BASE_URL"));
  },
  // Every test fails if the page breaks the Content-Security-Policy or throws.
  cspGuard: [
    async ({ context }, use) => {
      const problems: string[] = [];
      context.on("console", (message) => {
        if (message.type() === "error" && /Content Security Policy|Refused to/i.test(message.text())) {
          problems.push(message.text());
        }
      });
      context.on("weberror", (error) => problems.push(String(error.error())));
      await use(undefined);
      expect(problems, "CSP violations and uncaught errors").toEqual([]);
    },
    { auto: true },
  ],
});

export const apiUrl = () => env("E2E_API_URL");
export const admin = () => ({ email: env("E2E_ADMIN_EMAIL"), password: env("E2E_ADMIN_PASSWORD") });

let counter = 0;
export function uniqueEmail(prefix: string): string {
  counter += 1;
  return `${prefix}-${Date.now().toString(36)}-${counter}@example.com`;
}

interface SessionBody {
  access_token: string;
  user: { id: string };
}

export async function apiSignUp(request: APIRequestContext, name = "Reader", api = apiUrl()) {
  const email = uniqueEmail(name.toLowerCase().replace(/\W+/g, "-"));
  const res = await request.post(`${api}/api/v1/auth/register`, {
    data: { email, password: PASSWORD, display_name: name },
  });
  expect(res.status(), await res.text()).toBe(201);
  const body = (await res.json()) as SessionBody;
  return { email, password: PASSWORD, token: body.access_token, id: body.user.id };
}

export async function apiLogin(request: APIRequestContext, email: string, password: string): Promise<string> {
  const res = await request.post(`${apiUrl()}/api/v1/auth/login`, { data: { email, password } });
  expect(res.status(), await res.text()).toBe(200);
  return ((await res.json()) as SessionBody).access_token;
}

export async function adminToken(request: APIRequestContext): Promise<string> {
  const a = admin();
  return apiLogin(request, a.email, a.password);
}

export interface BookJson {
  id: string;
  title: string;
  available: number;
  in_stock: boolean;
  price: string;
  cover_url?: string | null;
  cover_thumbnail_url?: string | null;
}

/** The image has loaded (not only been asked for): its natural width, once it is complete. */
export async function loadedWidth(image: Locator): Promise<number> {
  await image.scrollIntoViewIfNeeded();
  return image.evaluate((el: HTMLImageElement) => (el.complete ? el.naturalWidth : 0));
}

export async function findBooks(request: APIRequestContext, query: string, api = apiUrl()): Promise<BookJson[]> {
  const res = await request.get(`${api}/api/v1/books?${query}`);
  expect(res.ok()).toBe(true);
  return ((await res.json()) as { items: BookJson[] }).items;
}

export async function setStock(request: APIRequestContext, token: string, bookId: string, available: number) {
  const res = await request.put(`${apiUrl()}/api/v1/inventory/${bookId}`, {
    headers: { authorization: `Bearer ${token}` },
    data: { available },
  });
  expect(res.status(), await res.text()).toBe(200);
}

export async function placeOrder(
  request: APIRequestContext,
  token: string,
  lines: { book_id: string; quantity: number }[],
  api = apiUrl(),
): Promise<{ id: string; status: string }> {
  const res = await request.post(`${api}/api/v1/orders`, {
    headers: { authorization: `Bearer ${token}` },
    data: { lines },
  });
  expect(res.status(), await res.text()).toBe(202);
  return (await res.json()) as { id: string; status: string };
}

export async function waitForStatus(
  request: APIRequestContext,
  token: string,
  orderId: string,
  status: string,
  api = apiUrl(),
) {
  await expect
    .poll(async () => {
      const res = await request.get(`${api}/api/v1/orders/${orderId}/status`, {
        headers: { authorization: `Bearer ${token}` },
      });
      return ((await res.json()) as { status: string }).status;
    })
    .toBe(status);
}

export async function logIn(page: Page, email: string, password: string) {
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("link", { name: /\(profile\)/ })).toBeVisible();
}

export async function logInAsAdmin(page: Page, a = admin()) {
  await logIn(page, a.email, a.password);
  await expect(page.getByRole("link", { name: "Admin", exact: true })).toBeVisible();
}

/**
 * axe-core on the page once it has settled: no serious or critical violation. Colour
 * transitions still running (a button enabled a moment ago fades from grey to teal in 150 ms)
 * are waited out first, or the contrast check would judge a colour halfway between the two.
 */
export async function expectAccessible(page: Page, what: string) {
  await page.waitForFunction(() =>
    document.getAnimations().every((animation) => !(animation instanceof CSSTransition) || animation.playState !== "running"),
  );
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]).analyze();
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  const summary = bad.map((v) => `${v.id} (${v.impact ?? "?"}): ${v.help}\n  ${v.nodes.map((n) => n.target.join(" ")).slice(0, 5).join("\n  ")}`);
  expect(summary, `accessibility of ${what}`).toEqual([]);
}

/** Records every order status the page shows, so a test can see "pending" even when it lasts a moment. */
export async function recordStatuses(page: Page) {
  await page.addInitScript(() => {
    const w = window as unknown as { __statuses: string[] };
    w.__statuses = [];
    const note = () => {
      const el = document.querySelector('[data-testid="order-status"]');
      const text = el?.textContent.trim();
      if (text && w.__statuses[w.__statuses.length - 1] !== text) w.__statuses.push(text);
    };
    new MutationObserver(note).observe(document, { subtree: true, childList: true, characterData: true });
  });
}

export async function recordedStatuses(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __statuses: string[] }).__statuses);
}

/**
 * Records, from now on, every text the element `selector` finds shows (one entry per change), so
 * a test can see a state that lasts only a moment; read them with `recordedTexts`.
 */
export async function recordTexts(page: Page, selector: string) {
  await page.evaluate((sel) => {
    const w = window as unknown as { __texts?: string[]; __textsObserver?: MutationObserver };
    w.__textsObserver?.disconnect();
    const texts: string[] = [];
    w.__texts = texts;
    const note = () => {
      const text = document.querySelector(sel)?.textContent.trim();
      if (text && texts[texts.length - 1] !== text) texts.push(text);
    };
    note();
    w.__textsObserver = new MutationObserver(note);
    w.__textsObserver.observe(document, { subtree: true, childList: true, characterData: true });
  }, selector);
}

export async function recordedTexts(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __texts?: string[] }).__texts ?? []);
}

/**
 * Holds back each pushed `completed` status for `ms` on its way to the page, as a slower order
 * pipeline would: `bookstore all` completes an order within milliseconds, often before the
 * page has shown it as pending.
 */
export async function slowCompletedPushes(page: Page, ms: number) {
  let waiting: (() => void)[] = [];
  await page.routeWebSocket(/\/socket\.io\//, (ws) => {
    const server = ws.connectToServer();
    server.onMessage((message) => {
      // "40…" is Socket.IO's answer to a connect: the page's socket is live.
      if (typeof message === "string" && message.startsWith("40")) {
        for (const resolve of waiting) resolve();
        waiting = [];
      }
      if (typeof message === "string" && message.includes("order_status_change") && message.includes('"completed"')) {
        setTimeout(() => ws.send(message), ms);
      } else {
        ws.send(message);
      }
    });
    ws.onMessage((message) => server.send(message));
  });
  return {
    /** Resolves when the page's socket next connects. */
    nextConnect: () => new Promise<void>((resolve) => waiting.push(resolve)),
  };
}
