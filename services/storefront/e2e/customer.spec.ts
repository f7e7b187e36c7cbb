import {
  adminToken,
  apiSignUp,
  expect,
  findBooks,
  logIn,
  PASSWORD,
  placeOrder,
  recordedStatuses,
  recordStatuses,
  slowCompletedPushes,
  setStock,
  test,
  uniqueEmail,
  waitForStatus,
} from "./support/fixtures";

// Tagged @split: it also runs against the split deployment behind a path-routing proxy.
test("a new reader signs up, searches and filters, buys two books and watches the order complete live", { tag: "@split" }, async ({ page }) => {
  await recordStatuses(page);
  await slowCompletedPushes(page, 700);

  await page.goto("/signup");
  await page.getByLabel("Your name").fill("Ada Reader");
  await page.getByLabel("Email").fill(uniqueEmail("ada"));
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("link", { name: /\(profile\)/ })).toBeVisible();
  await expect(page.getByRole("heading", { level: 1, name: "Find your next book" })).toBeVisible();

  // Filter: Mystery, in stock, cheapest first; the view lives in the URL.
  const filters = page.getByRole("complementary", { name: "Filters" });
  await filters.getByRole("radio", { name: /^Mystery/ }).click();
  await expect(page).toHaveURL(/genre=Mystery/);
  await filters.getByRole("checkbox", { name: "In stock only" }).click();
  await expect(page).toHaveURL(/in_stock=true/);
  await expect(filters.getByRole("checkbox", { name: "In stock only" })).toBeChecked();
  await page.getByLabel("Sort by").selectOption("price_asc");
  await expect(page).toHaveURL(/sort=price_asc/);
  const grid = page.getByRole("region", { name: "Books" });
  await expect(grid.getByRole("listitem").first()).toBeVisible();

  // The back button restores the previous view.
  await page.goBack();
  await expect(page).not.toHaveURL(/sort=price_asc/);
  await expect(page.getByLabel("Sort by")).toHaveValue("title");
  await page.goForward();
  await expect(page.getByLabel("Sort by")).toHaveValue("price_asc");

  // The grid may still show the previous view's books for a moment: wait for the restored
  // view's cheapest mystery before adding it.
  const cheapest = await findBooks(page.request, "genre=Mystery&in_stock=true&sort=price_asc");
  const firstTitle = cheapest[0]?.title ?? "";
  expect(firstTitle).not.toBe("");
  const mysteries = grid.getByRole("listitem");
  await expect(mysteries.nth(0).getByRole("heading")).toHaveText(firstTitle);
  await mysteries.nth(0).getByRole("button", { name: /Add .* to cart/ }).click();

  // Free-text search, after clearing the filters.
  await page.getByRole("button", { name: "Clear filters" }).click();
  await expect(page).not.toHaveURL(/genre=/);
  const tolkien = await findBooks(page.request, "q=tolkien&in_stock=true");
  expect(tolkien.length).toBeGreaterThan(0);
  await page.getByRole("searchbox", { name: "Search by title, author or ISBN" }).fill("tolkien");
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page).toHaveURL(/q=tolkien/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Results for “tolkien”");
  const result = grid.getByRole("listitem").filter({ hasText: tolkien[0]?.title ?? "" }).first();
  await result.getByRole("link").first().click();

  // Book page.
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(tolkien[0]?.title ?? "");
  await expect(page.getByText("Publisher", { exact: true })).toBeVisible();
  await page.getByRole("button", { name: /Add .* to cart/ }).click();
  await expect(page.getByRole("link", { name: "Cart, 2 books" })).toBeVisible();

  // Cart, kept across a reload.
  await page.getByRole("link", { name: /^Cart/ }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Your cart" })).toBeVisible();
  await page.reload();
  const lines = page.getByRole("list", { name: "Books in your cart" }).getByRole("listitem");
  await expect(lines).toHaveCount(2);
  await expect(lines.filter({ hasText: firstTitle })).toHaveCount(1);
  await page.getByRole("link", { name: "Go to checkout" }).click();

  // Checkout: one order, then the order page follows it without a reload.
  await expect(page.getByRole("heading", { level: 1, name: "Checkout" })).toBeVisible();
  await page.evaluate(() => {
    (window as unknown as { __sameDocument: boolean }).__sameDocument = true;
  });
  await page.getByRole("button", { name: "Place order" }).click();
  await expect(page).toHaveURL(/\/orders\/[^/]+$/);
  const status = page.getByTestId("order-status");
  await expect(status).toHaveText("Completed");
  expect(await recordedStatuses(page)).toEqual(["Pending", "Completed"]);
  expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
  await expect(page.getByText("live updates on")).toBeVisible();
  await expect(page.getByRole("link", { name: /^Cart/ })).toHaveAccessibleName("Cart, 0 books");

  // My orders lists it; the status filter works.
  await page.getByRole("link", { name: "Orders", exact: true }).click();
  const orders = page.getByRole("list", { name: "Orders" }).getByRole("listitem");
  await expect(orders).toHaveCount(1);
  await expect(orders.first()).toContainText("Completed");
  await page.getByLabel("Show").selectOption("failed");
  await expect(page).toHaveURL(/status=failed/);
  await expect(page.getByRole("heading", { name: "No failed orders" })).toBeVisible();
});

test("an order for more than the stock ends failed, with the reason shown", async ({ page, request }) => {
  const token = await adminToken(request);
  const [book] = await findBooks(request, "q=hobbit");
  if (!book) throw new Error("the sample catalogue has The Hobbit");
  await setStock(request, token, book.id, 1);
  const reader = await apiSignUp(request, "Greedy");
  await logIn(page, reader.email, reader.password);

  await page.goto(`/books/${book.id}`);
  await page.getByRole("button", { name: /Add .* to cart/ }).click();
  await page.goto("/cart");
  await page.getByLabel("Quantity").fill("3");
  await page.getByRole("link", { name: "Go to checkout" }).click();
  await expect(page.getByText("Only 1 in stock.")).toBeVisible();
  await page.getByRole("button", { name: "Place order" }).click();
  await expect(page.getByTestId("order-status")).toHaveText("Failed");
  await expect(page.getByText("Not enough copies were in stock")).toBeVisible();
  await setStock(request, token, book.id, 20);
});

test("the buy button is disabled while the reader's order for the book is pending", async ({ page, request }) => {
  const socket = await slowCompletedPushes(page, 1500);
  const reader = await apiSignUp(request, "Eager");
  const [book] = await findBooks(request, "in_stock=true&sort=price_desc&limit=1");
  if (!book) throw new Error("no book in stock");
  await logIn(page, reader.email, reader.password);
  const live = socket.nextConnect();
  await page.goto(`/books/${book.id}`);
  // With the socket up the page waits for the push; without it, it would poll (and see the
  // order completed at once).
  await live;
  await page.getByRole("button", { name: "Buy now" }).click();
  await expect(page.getByRole("button", { name: "Order is being processed" })).toBeDisabled();
  await expect(page.getByText("Your order for this book is being processed.")).toBeVisible();
  // Once the order completes, the button is back and the order is a link away.
  await expect(page.getByRole("button", { name: "Buy now" })).toBeEnabled();
  await page.getByRole("link", { name: "See its status" }).click();
  await expect(page.getByTestId("order-status")).toHaveText("Completed");
});

test("another reader's order is not found", async ({ page, request }) => {
  const owner = await apiSignUp(request, "Owner");
  const [book] = await findBooks(request, "in_stock=true&limit=1");
  if (!book) throw new Error("no book in stock");
  const order = await placeOrder(request, owner.token, [{ book_id: book.id, quantity: 1 }]);
  await waitForStatus(request, owner.token, order.id, "completed");

  const other = await apiSignUp(request, "Curious");
  await logIn(page, other.email, other.password);
  await page.goto(`/orders/${order.id}`);
  await expect(page.getByRole("heading", { name: "Order not found" })).toBeVisible();
});

test("unknown addresses show the 404 page", async ({ page }) => {
  await page.goto("/no/such/page");
  await expect(page.getByRole("heading", { level: 1, name: "This page is not on our shelves" })).toBeVisible();
  await page.getByRole("link", { name: "Back to the catalogue" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Find your next book" })).toBeVisible();
});
