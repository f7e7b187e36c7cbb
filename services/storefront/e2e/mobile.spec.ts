import { expect, expectAccessible, PASSWORD, test, uniqueEmail } from "./support/fixtures";

// The same shop at 390 px: filters behind a button, one column of actions.
test("at 390 px a reader signs up, filters, buys and sees the order complete", async ({ page }) => {
  await page.goto("/signup");
  await page.getByLabel("Your name").fill("Pocket Reader");
  await page.getByLabel("Email").fill(uniqueEmail("pocket"));
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("link", { name: /\(profile\)/ })).toBeVisible();

  const toggle = page.getByRole("button", { name: /^Filters/ });
  await expect(toggle).toHaveAttribute("aria-expanded", "false");
  await expect(page.getByRole("radio", { name: /^Fantasy/ })).toBeHidden();
  await toggle.click();
  await page.getByRole("radio", { name: /^Fantasy/ }).click();
  await expect(page).toHaveURL(/genre=Fantasy/);
  await page.getByRole("checkbox", { name: "In stock only" }).click();
  await expect(page).toHaveURL(/in_stock=true/);
  await expectAccessible(page, "catalogue at 390 px");

  const first = page.getByRole("region", { name: "Books" }).getByRole("listitem").first();
  await first.getByRole("button", { name: /Add .* to cart/ }).click();
  await expect(page.getByRole("link", { name: "Cart, 1 book" })).toBeVisible();
  await page.getByRole("link", { name: /^Cart/ }).click();
  await expectAccessible(page, "cart at 390 px");
  await page.getByRole("link", { name: "Go to checkout" }).click();
  await page.getByRole("button", { name: "Place order" }).click();
  await expect(page.getByTestId("order-status")).toHaveText("Completed");
  await expectAccessible(page, "order at 390 px");

  // Nothing is wider than the screen.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
});
