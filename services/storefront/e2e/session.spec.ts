import type { Page } from "@playwright/test";
import { expect, PASSWORD, test, uniqueEmail } from "./support/fixtures";
import { startShop, type Shop } from "./support/shop";

// A shop of its own whose access tokens last 30 seconds (the shortest it allows).
const TTL_SECONDS = 30;
let shop: Shop | undefined;
test.beforeAll(async () => {
  shop = await startShop({ name: "short-ttl", accessTokenTtlSeconds: TTL_SECONDS });
});
test.afterAll(async () => {
  await shop?.stop();
});

function theShop(): Shop {
  if (!shop) throw new Error("the short-ttl shop did not start");
  return shop;
}

async function signUp(page: Page): Promise<string> {
  await page.goto(`${theShop().baseUrl}/signup`);
  await page.getByLabel("Your name").fill("Brief Reader");
  await page.getByLabel("Email").fill(uniqueEmail("brief"));
  await page.getByLabel("Password").fill(PASSWORD);
  const answer = page.waitForResponse((r) => r.url().endsWith("/api/v1/auth/register"));
  await page.getByRole("button", { name: "Create account" }).click();
  const body = (await (await answer).json()) as { access_token: string };
  await expect(page.getByRole("link", { name: /\(profile\)/ })).toBeVisible();
  return body.access_token;
}

/** Waits until the server refuses the token: it has expired. */
async function waitForExpiry(page: Page, token: string) {
  await expect
    .poll(
      async () =>
        (await page.request.get(`${theShop().apiUrl}/api/v1/users/me`, { headers: { authorization: `Bearer ${token}` } })).status(),
      { timeout: (TTL_SECONDS + 15) * 1000, intervals: [1000] },
    )
    .toBe(401);
}

test("an expired access token is refreshed silently by the next action", async ({ page }) => {
  test.setTimeout((TTL_SECONDS + 45) * 1000);
  let refreshes = 0;
  page.on("response", (r) => {
    if (r.url().endsWith("/api/v1/auth/refresh") && r.status() === 200) refreshes += 1;
  });
  const token = await signUp(page);
  await waitForExpiry(page, token);
  // The next action works without a new log-in: the app (or its socket, told that the token
  // expired) has fetched a new token through the refresh cookie.
  await page.getByRole("link", { name: "Orders", exact: true }).click();
  await expect(page).toHaveURL(/\/orders$/);
  await expect(page.getByRole("heading", { level: 1, name: "Your orders" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "No orders yet" })).toBeVisible();
  expect(refreshes).toBeGreaterThan(0);

  // A reload resumes the session from the refresh cookie.
  await page.reload();
  await expect(page.getByRole("heading", { name: "No orders yet" })).toBeVisible();
  await expect(page.getByRole("link", { name: /\(profile\)/ })).toBeVisible();
});

test("a session that cannot be refreshed ends, and the cart is kept", async ({ page, context }) => {
  // The page's clock runs on; the test moves it past the token's expiry instead of waiting.
  await page.clock.install();
  await signUp(page);
  await page.getByRole("region", { name: "Books" }).getByRole("listitem").first().getByRole("button", { name: /Add .* to cart/ }).click();
  await expect(page.getByRole("link", { name: "Cart, 1 book" })).toBeVisible();

  // The refresh cookie goes away (as after a logout elsewhere), then the token expires.
  await context.clearCookies();
  await page.clock.fastForward((TTL_SECONDS + 5) * 1000);
  await page.getByRole("link", { name: "Orders", exact: true }).click();

  await expect(page).toHaveURL(/\/login\?next=%2Forders/);
  await expect(page.getByText("Your session has ended. Log in again; your cart is kept.")).toBeVisible();
  await expect(page.getByRole("link", { name: "Cart, 1 book" })).toBeVisible();
  await page.goto(`${theShop().baseUrl}/cart`);
  await expect(page.getByRole("list", { name: "Books in your cart" }).getByRole("listitem")).toHaveCount(1);
});
