import { buildApp, startShop } from "./shop";

// One shop for the whole run; the tests find it through these environment variables.
export default async function globalSetup() {
  if (process.env.BOOKSTORE_E2E_SERVE !== "embedded") buildApp();
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
