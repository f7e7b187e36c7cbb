import path from "node:path";
import type { Page } from "@playwright/test";
import type { APIRequestContext } from "@playwright/test";
import { apiSignUp, expect, findBooks, loadedWidth, logIn, logInAsAdmin, placeOrder, test as base, waitForStatus } from "./support/fixtures";
import { png } from "./support/files";
import { ROOT, startShop, type Shop } from "./support/shop";

// The main pages at both widths, into docs/screenshots/ at the repository's root (committed and
// shown in the README; every run regenerates them).
// A shop of their own, so that stock and lists look the same from run to run.
const test = base.extend<object, { shop: Shop }>({
  shop: [
    // eslint-disable-next-line no-empty-pattern -- Playwright reads a fixture's dependencies from this pattern
    async ({}, use) => {
      const shop = await startShop({ name: "screenshots" });
      await use(shop);
      await shop.stop();
    },
    { scope: "worker" },
  ],
  baseURL: async ({ shop }, use) => {
    await use(shop.baseUrl);
  },
});
const DIR = process.env.STOREFRONT_SCREENSHOT_DIR ?? path.join(ROOT, "../../docs/screenshots");
const WIDTHS = [390, 1280] as const;

async function shoot(page: Page, name: string) {
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: width < 800 ? 844 : 900 });
    await page.evaluate(() => document.fonts.ready);
    // The whole page, cut at a height that still reads well in a README.
    const height = await page.evaluate(() => document.documentElement.scrollHeight);
    await page.screenshot({
      path: path.join(DIR, `${name}-${width}.png`),
      fullPage: true,
      clip: { x: 0, y: 0, width, height: Math.min(height, width < 800 ? 1400 : 2000) },
      animations: "disabled",
    });
  }
}

/** Gives the book a cover and a text document as the admin, and waits for the document's summary. */
async function withFiles(request: APIRequestContext, shop: Shop, bookId: string) {
  const login = await request.post(`${shop.apiUrl}/api/v1/auth/login`, {
    data: { email: shop.adminEmail, password: shop.adminPassword },
  });
  expect(login.status()).toBe(200);
  const token = ((await login.json()) as { access_token: string }).access_token;
  const text =
    "The old cartographer kept a map of every road in the kingdom. One winter a road appeared that no map showed. " +
    "She followed it through the snow to a village that had been forgotten for a hundred years. " +
    "Its people had kept their own maps, and theirs showed roads she had never seen.";
  const files: [string, { name: string; mimeType: string; buffer: Buffer }][] = [
    ["cover", { name: "cover.png", mimeType: "image/png", buffer: png(400, 600) }],
    ["document", { name: "book.txt", mimeType: "text/plain", buffer: Buffer.from(text) }],
  ];
  for (const [what, file] of files) {
    const res = await request.put(`${shop.apiUrl}/api/v1/books/${bookId}/${what}`, {
      headers: { authorization: `Bearer ${token}` },
      multipart: { file },
    });
    expect(res.status(), await res.text()).toBe(200);
  }
  await expect
    .poll(async () => {
      const book = (await (await request.get(`${shop.apiUrl}/api/v1/books/${bookId}`)).json()) as { summary: { status: string } };
      return book.summary.status;
    })
    .toBe("ready");
}

test("screenshots of the main pages", async ({ page, request, shop }) => {
  const api = shop.apiUrl;
  const reader = await apiSignUp(request, "Grace Hopper", api);
  const books = await findBooks(request, "in_stock=true&genre=Fantasy&limit=2", api);
  const [a, b] = books;
  if (!a || !b) throw new Error("need two books in stock");
  const order = await placeOrder(request, reader.token, [
    { book_id: a.id, quantity: 1 },
    { book_id: b.id, quantity: 2 },
  ], api);
  await waitForStatus(request, reader.token, order.id, "completed", api);
  // The book page shows a cover, a summary and, to this reader who bought it, the download.
  await withFiles(request, shop, a.id);
  await logIn(page, reader.email, reader.password);

  await page.goto("/");
  await expect(page.getByRole("region", { name: "Books" }).getByRole("listitem").first()).toBeVisible();
  await shoot(page, "catalogue");

  await page.goto(`/books/${a.id}`);
  await expect(page.getByRole("heading", { level: 1, name: a.title })).toBeVisible();
  await expect(page.getByRole("button", { name: "Buy now" })).toBeEnabled();
  await expect(page.getByRole("button", { name: /^Download/ })).toBeVisible();
  await expect(page.getByText("The old cartographer kept a map")).toBeVisible();
  await expect.poll(() => loadedWidth(page.getByRole("img", { name: /^Cover of/ }))).toBeGreaterThan(0);
  await shoot(page, "book");
  await page.getByRole("button", { name: /Add .* to cart/ }).click();
  await page.goto(`/books/${b.id}`);
  await page.getByRole("button", { name: /Add .* to cart/ }).click();

  await page.goto("/cart");
  await expect(page.getByRole("list", { name: "Books in your cart" }).getByRole("listitem")).toHaveCount(2);
  await shoot(page, "cart");

  await page.goto(`/orders/${order.id}`);
  await expect(page.getByTestId("order-status")).toHaveText("Completed");
  await shoot(page, "order");

  await page.getByRole("button", { name: "Log out" }).click();
  await logInAsAdmin(page, { email: shop.adminEmail, password: shop.adminPassword });
  await page.goto("/admin/books");
  await expect(page.getByRole("table")).toBeVisible();
  await shoot(page, "admin-books");

  // The book's edit page with its cover, document and summary panels.
  await page.goto(`/admin/books/${a.id}`);
  await expect(page.getByRole("button", { name: "Ask for a new summary" })).toBeVisible();
  await shoot(page, "admin-book");
});
