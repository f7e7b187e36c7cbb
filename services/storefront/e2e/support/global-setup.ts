import { buildApp, serveMode, startShop } from "./shop";

// One shop for the whole run; the tests find it through these environment variables. A caller
// that started a shop itself (the split deployment behind a routing proxy, in
// services/bookstore/tests/storefront.rs) sets them beforehand, and this starts nothing.
export default async function globalSetup() {
  if (process.env.E2E_BASE_URL) {
    console.log(`e2e: the shop at ${process.env.E2E_BASE_URL}, started by the caller`);
    return;
  }
  if (serveMode() === "vite-preview") buildApp();
  const shop = await startShop({ name: "main" });
  process.env.E2E_BASE_URL = shop.baseUrl;
  process.env.E2E_API_URL = shop.apiUrl;
  process.env.E2E_ADMIN_EMAIL = shop.adminEmail;
  process.env.E2E_ADMIN_PASSWORD = shop.adminPassword;
  process.env.E2E_SERVE_MODE = shop.mode;
  console.log(`e2e: shop at ${shop.apiUrl}, app at ${shop.baseUrl} (${shop.mode})`);
  return async () => {
    await shop.stop();
  };
}
