import type { Locator, Page } from "@playwright/test";
import { expect, test } from "./support/fixtures";

/** Presses Tab until `target` has focus (or fails after `max` presses). */
async function tabTo(page: Page, target: Locator, max = 80) {
  for (let i = 0; i < max; i++) {
    if (await target.evaluate((el) => el === document.activeElement).catch(() => false)) return;
    await page.keyboard.press("Tab");
  }
  throw new Error(`could not reach ${String(target)} with the Tab key`);
}

test("a reader finds a book, filters and fills the cart with the keyboard alone", async ({ page }) => {
  await page.goto("/");
  await expect(page.getByRole("heading", { level: 1, name: "Find your next book" })).toBeVisible();

  // The first Tab shows the skip link; it jumps past the header.
  await page.keyboard.press("Tab");
  const skip = page.getByRole("link", { name: "Skip to content" });
  await expect(skip).toBeFocused();
  await expect(skip).toBeVisible();
  await page.keyboard.press("Enter");

  const search = page.getByRole("searchbox", { name: "Search by title, author or ISBN" });
  await tabTo(page, search);
  await page.keyboard.type("hobbit");
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/q=hobbit/);

  // Facet radios move with the arrow keys, like any radio group.
  const allFormats = page.getByRole("radio", { name: "Any format" });
  await tabTo(page, allFormats);
  await page.keyboard.press("ArrowDown");
  await expect(page).toHaveURL(/format=hardcover/);
  await page.keyboard.press("ArrowUp");
  await expect(page).not.toHaveURL(/format=/);

  const add = page.getByRole("button", { name: "Add The Hobbit to cart" });
  await tabTo(page, add);
  await page.keyboard.press("Enter");
  await expect(page.getByRole("link", { name: "Cart, 1 book" })).toBeVisible();

  const open = page.getByRole("link", { name: "The Hobbit" }).first();
  await tabTo(page, open);
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { level: 1, name: "The Hobbit" })).toBeFocused();

  await tabTo(page, page.getByRole("link", { name: "Cart, 1 book" }));
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { level: 1, name: "Your cart" })).toBeVisible();
  const quantity = page.getByLabel("Quantity");
  await tabTo(page, quantity);
  await page.keyboard.press("ArrowUp");
  await expect(page.getByRole("link", { name: "Cart, 2 books" })).toBeVisible();
});
