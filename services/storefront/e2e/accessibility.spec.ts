import { apiSignUp, expect, expectAccessible, findBooks, logIn, logInAsAdmin, placeOrder, test, waitForStatus } from "./support/fixtures";

test("every page passes axe logged out", async ({ page, request }) => {
  const [book] = await findBooks(request, "limit=1");
  if (!book) throw new Error("empty catalogue");
  const pages: [string, string][] = [
    ["/", "Find your next book"],
    ["/?genre=Mystery&in_stock=true&sort=price_asc", "Find your next book"],
    ["/?q=zzzzzz", "Results for “zzzzzz”"],
    [`/books/${book.id}`, book.title],
    ["/cart", "Your cart"],
    ["/login", "Log in"],
    ["/signup", "Create an account"],
    ["/no/such/page", "This page is not on our shelves"],
  ];
  for (const [path, heading] of pages) {
    await page.goto(path);
    await expect(page.getByRole("heading", { level: 1, name: heading })).toBeVisible();
    await expectAccessible(page, path);
  }
  // The login form with its error message.
  await page.goto("/login");
  await page.getByLabel("Email").fill("nobody@example.com");
  await page.getByLabel("Password").fill("not the password at all");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("alert")).toContainText("do not match");
  await expectAccessible(page, "/login with an error");
});

test("every page passes axe as a customer", async ({ page, request }) => {
  const reader = await apiSignUp(request, "Axe Reader");
  const [book] = await findBooks(request, "in_stock=true&limit=1");
  if (!book) throw new Error("no book in stock");
  const order = await placeOrder(request, reader.token, [{ book_id: book.id, quantity: 1 }]);
  await waitForStatus(request, reader.token, order.id, "completed");
  await logIn(page, reader.email, reader.password);

  await page.goto(`/books/${book.id}`);
  await page.getByRole("button", { name: /Add .* to cart/ }).click();
  const pages: [string, string][] = [
    ["/", "Find your next book"],
    [`/books/${book.id}`, book.title],
    ["/cart", "Your cart"],
    ["/checkout", "Checkout"],
    [`/orders/${order.id}`, "Your order"],
    ["/orders", "Your orders"],
    ["/orders?status=failed", "Your orders"],
    ["/profile", "Your profile"],
    ["/admin/books", "This page is for the shop's staff"],
  ];
  for (const [path, heading] of pages) {
    await page.goto(path);
    await expect(page.getByRole("heading", { name: heading }).first()).toBeVisible();
    await expectAccessible(page, path);
  }
  // Profile with field errors next to their fields.
  await page.goto("/profile");
  await page.getByLabel("Current password").fill("wrong wrong wrong");
  await page.getByLabel("New password", { exact: true }).fill("short");
  await page.getByLabel("Repeat the new password").fill("short");
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.getByLabel("New password", { exact: true })).toHaveAttribute("aria-invalid", "true");
  await expectAccessible(page, "/profile with errors");
});

test("every page passes axe as an admin", async ({ page, request }) => {
  const [book] = await findBooks(request, "limit=1");
  if (!book) throw new Error("empty catalogue");
  await logInAsAdmin(page);
  const pages: [string, string][] = [
    ["/admin/books", "Books"],
    ["/admin/books/new", "Add a book"],
    [`/admin/books/${book.id}`, `Edit “${book.title}”`],
    ["/admin/orders", "Orders"],
    ["/admin/users", "Users"],
    ["/admin/nothing-here", "This page is not on our shelves"],
  ];
  for (const [path, heading] of pages) {
    await page.goto(path);
    await expect(page.getByRole("heading", { level: 1, name: heading })).toBeVisible();
    await expectAccessible(page, path);
  }
  await page.goto("/admin/books/new");
  await page.getByRole("button", { name: "Add book" }).click();
  await expect(page.getByLabel("ISBN")).toHaveAttribute("aria-invalid", "true");
  await expectAccessible(page, "/admin/books/new with errors");
});
