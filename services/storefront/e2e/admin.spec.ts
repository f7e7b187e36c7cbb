import { readFileSync } from "node:fs";
import {
  apiSignUp,
  expect,
  expectAccessible,
  findBooks,
  loadedWidth,
  logIn,
  logInAsAdmin,
  placeOrder,
  recordedTexts,
  recordTexts,
  test,
  waitForStatus,
} from "./support/fixtures";
import { png } from "./support/files";

test("an admin adds a book with stock, a cover and a document whose summary appears; a reader finds it; a buyer downloads it", async ({ page, browser, request }) => {
  const title = `The Lighthouse Keeper ${Date.now().toString(36)}`;
  await logInAsAdmin(page);
  await page.getByRole("link", { name: "Admin", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Books" })).toBeVisible();
  await page.getByRole("link", { name: "Add a book" }).click();

  // A bad submission shows each problem next to its field.
  await page.getByLabel("Title").fill(title);
  await page.getByRole("button", { name: "Add book" }).click();
  await expect(page.getByLabel("ISBN")).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByRole("alert").first()).toBeVisible();

  const isbn = `978${String(Date.now()).slice(-9)}`;
  const check = (() => {
    const digits = isbn.split("").map(Number);
    const sum = digits.reduce((s, d, i) => s + d * (i % 2 === 0 ? 1 : 3), 0);
    return (10 - (sum % 10)) % 10;
  })();
  await page.getByLabel("Authors").fill("Mara Quill, Tomas Reed");
  await page.getByLabel("ISBN").fill(`${isbn}${check}`);
  await page.getByLabel("Publisher").fill("Harbour Press");
  await page.getByLabel("Format").selectOption("hardcover");
  await page.getByLabel("Genre").fill("Mystery");
  await page.getByLabel("Price").fill("19.5");
  await page.getByLabel("Description").fill("A keeper, a storm, and a light that will not go out.");
  await page.getByRole("button", { name: "Add book" }).click();
  await expect(page.getByRole("heading", { level: 1, name: `Edit “${title}”` })).toBeVisible();

  const stock = page.getByRole("region", { name: "Stock" });
  await expect(stock.getByRole("status")).toContainText("0 available");
  await stock.getByLabel("Set available copies to").fill("7");
  await stock.getByRole("button", { name: "Set stock" }).click();
  await expect(stock.getByRole("status").first()).toContainText("7 available");
  await stock.getByLabel("Add or remove copies").fill("-2");
  await stock.getByRole("button", { name: "Adjust stock" }).click();
  await expect(stock.getByRole("status").first()).toContainText("5 available");

  // A cover: a file that is not an image is refused in words next to the field, a PNG is taken.
  const documentText = "Chapter 1\nThe light turned, and turned again, all night long.\n";
  const cover = page.getByRole("region", { name: "Cover" });
  const coverInput = cover.getByLabel(/Cover image/);
  await coverInput.setInputFiles({ name: "notes.png", mimeType: "image/png", buffer: Buffer.from(documentText) });
  await cover.getByRole("button", { name: "Upload cover" }).click();
  await expect(coverInput).toHaveAttribute("aria-invalid", "true");
  await expect(cover).toContainText("The file is not a JPEG, PNG or WebP image");
  await expectAccessible(page, "a book's edit page with a refused cover");
  await coverInput.setInputFiles({ name: "lighthouse.png", mimeType: "image/png", buffer: png(200, 300) });
  await cover.getByRole("button", { name: "Upload cover" }).click();
  await expect(cover.getByText("Cover saved.")).toBeVisible();
  const preview = cover.getByRole("img", { name: `Current cover of ${title}` });
  await expect(preview).toHaveAttribute("src", /\/cover\?size=small&v=/);
  await expect.poll(() => loadedWidth(preview)).toBe(200);

  // A document: plain text.
  const size = `${Buffer.byteLength(documentText)} bytes`;
  const documentPanel = page.getByRole("region", { name: "Document" });
  await documentPanel.getByLabel(/Document \(PDF, EPUB or plain UTF-8 text/).setInputFiles({
    name: "keeper.txt",
    mimeType: "text/plain",
    buffer: Buffer.from(documentText),
  });
  await documentPanel.getByRole("button", { name: "Upload document" }).click();
  await expect(documentPanel.getByText("Document saved.")).toBeVisible();
  await expect(documentPanel).toContainText(`Current document: plain text, ${size}`);

  // Its summary, from the built-in extractive summariser: a sentence of the text, on the book's
  // page within a few seconds (pushed to the admin's socket, or polled).
  const sentence = "The light turned, and turned again, all night long.";
  const summaryPanel = page.getByRole("region", { name: "Summary" });
  const summaryStatus = summaryPanel.getByTestId("summary-status");
  await page.getByRole("link", { name: "See it in the shop" }).click();
  await expect(page.getByRole("heading", { level: 1, name: title })).toBeVisible();
  const summary = page.getByRole("region", { name: "Summary" });
  await expect(summary).toContainText(sentence, { timeout: 10_000 });
  await expect(summary).toContainText("Key sentences from the book");
  await expectAccessible(page, "a book's page with its summary");
  await page.goBack();
  await expect(summaryStatus).toHaveText("Ready");
  await expect(summaryPanel).toContainText(sentence);

  // Asked for again: pending (perhaps only for a moment), then ready again by itself.
  await recordTexts(page, '[data-testid="summary-status"]');
  await summaryPanel.getByRole("button", { name: "Ask for a new summary" }).click();
  await expect.poll(() => recordedTexts(page), { timeout: 10_000 }).toEqual(["Ready", "Being written", "Ready"]);
  await expect(summaryStatus).toHaveText("Ready");
  await expect(summaryPanel).toContainText(sentence);

  // A reader (not signed in) finds it, in stock, with its cover in the grid and on its page.
  const reader = await browser.newPage();
  await expect.poll(async () => (await findBooks(request, `q=${encodeURIComponent(title)}`))[0]?.available).toBe(5);
  const [found] = await findBooks(request, `q=${encodeURIComponent(title)}`);
  if (!found?.cover_thumbnail_url || !found.cover_url) throw new Error("the book has no cover");
  await reader.goto(`/?q=${encodeURIComponent(title)}`);
  const card = reader.getByRole("region", { name: "Books" }).getByRole("listitem").filter({ hasText: title });
  await expect(card).toContainText("In stock");
  await expect(card).toContainText("$19.50");
  const thumbnail = card.locator("img");
  await expect(thumbnail).toHaveAttribute("src", found.cover_thumbnail_url);
  await expect.poll(() => loadedWidth(thumbnail)).toBe(200);
  await card.getByRole("link").first().click();
  await expect(reader.getByRole("heading", { level: 1, name: title })).toBeVisible();
  await expect(reader.getByText("In stock · 5 available")).toBeVisible();
  await expect(reader.getByRole("definition").filter({ hasText: "Mara Quill, Tomas Reed" })).toBeVisible();
  const large = reader.getByRole("img", { name: `Cover of ${title}` });
  await expect(large).toHaveAttribute("src", found.cover_url);
  await expect.poll(() => loadedWidth(large)).toBe(200);
  await expect(reader.getByRole("button", { name: /Download/ })).toHaveCount(0);
  await expect(reader.getByRole("region", { name: "Summary" })).toContainText(sentence);
  await reader.close();

  // A customer is told when the e-book becomes downloadable, buys it, and downloads it.
  const customer = await apiSignUp(request, "Keeper Fan");
  const buyerContext = await browser.newContext();
  const buyer = await buyerContext.newPage();
  await logIn(buyer, customer.email, customer.password);
  await buyer.goto(`/books/${found.id}`);
  await expect(buyer.getByText(`The e-book (plain text, ${size}) becomes downloadable once your order is completed.`)).toBeVisible();
  await buyer.getByRole("button", { name: "Buy now" }).click();
  const download = buyer.getByRole("button", { name: `Download (plain text, ${size})` });
  await expect(download).toBeVisible();
  await expectAccessible(buyer, "a bought book's page with its download");
  const [file] = await Promise.all([buyer.waitForEvent("download"), download.click()]);
  expect(file.suggestedFilename()).toBe(`${title}.txt`);
  expect(readFileSync(await file.path(), "utf8")).toBe(documentText);
  await buyerContext.close();

  // The admin deletes it again.
  await page.goto(`/admin/books?q=${encodeURIComponent(title)}`);
  await page.getByRole("button", { name: `Delete ${title}` }).click();
  await page.getByRole("button", { name: `Delete “${title}”` }).click();
  await expect(page.getByRole("heading", { name: "No books found" })).toBeVisible();
});

test("an admin ships an order and the reader's order page updates live", async ({ page, browser, request }) => {
  const reader = await apiSignUp(request, "Shipped");
  const [book] = await findBooks(request, "in_stock=true&sort=price_asc&limit=1");
  if (!book) throw new Error("no book in stock");
  const order = await placeOrder(request, reader.token, [{ book_id: book.id, quantity: 1 }]);
  await waitForStatus(request, reader.token, order.id, "completed");

  await logIn(page, reader.email, reader.password);
  await page.goto(`/orders/${order.id}`);
  await expect(page.getByTestId("order-status")).toHaveText("Completed");
  await expect(page.getByText("live updates on")).toBeVisible();

  const adminContext = await browser.newContext();
  const admin = await adminContext.newPage();
  await logInAsAdmin(admin);
  await admin.goto("/admin/orders?status=completed");
  await expect(admin.getByRole("heading", { level: 1, name: "Orders" })).toBeVisible();
  await admin.getByRole("button", { name: `Ship order ${order.id}` }).click();

  await expect(page.getByTestId("order-status")).toHaveText("Shipped");
  await expect(page.getByText("Your books are on their way.")).toBeVisible();

  await admin.goto("/admin/orders?status=shipped");
  await admin.getByRole("button", { name: `Mark order ${order.id} delivered` }).click();
  await expect(page.getByTestId("order-status")).toHaveText("Delivered");
  await adminContext.close();
});

test("the admin's order list shows new orders as they come, without a reload", async ({ page, request }) => {
  await logInAsAdmin(page);
  await page.goto("/admin/orders");
  await expect(page.getByText("Live updates on")).toBeVisible();
  const reader = await apiSignUp(request, "Newcomer");
  const [book] = await findBooks(request, "in_stock=true&limit=1");
  if (!book) throw new Error("no book in stock");
  const order = await placeOrder(request, reader.token, [{ book_id: book.id, quantity: 1 }]);
  const row = page.getByRole("row").filter({ hasText: order.id });
  await expect(row).toBeVisible();
  await expect(row).toContainText("Completed");
});

test("an admin changes a reader's role and deactivates the account", async ({ page, request }) => {
  const reader = await apiSignUp(request, "Staffer");
  await logInAsAdmin(page);
  await page.goto(`/admin/users?q=${encodeURIComponent(reader.email)}`);
  const row = page.getByRole("row").filter({ hasText: reader.email });
  await row.getByLabel(`Role of ${reader.email}`).selectOption("admin");
  await expect(row.getByLabel(`Role of ${reader.email}`)).toHaveValue("admin");
  await row.getByRole("button", { name: `Deactivate ${reader.email}` }).click();
  await expect(row).toContainText("Deactivated");
});
