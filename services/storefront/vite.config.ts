import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// `npm run dev` proxies the API and Socket.IO to a running `bookstore all`.
// BOOKSTORE_URL points it elsewhere (default http://127.0.0.1:8080).
const backend = process.env.BOOKSTORE_URL ?? "http://127.0.0.1:8080";
const proxy = {
  "/api": { target: backend, changeOrigin: false },
  "/socket.io": { target: backend, ws: true, changeOrigin: false },
};

// The policy the binary serves the app with; `vite preview` (used by the end-to-end tests until
// the binary serves the app) sends it too, so the tests prove the app works under it.
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:";

export default defineConfig({
  base: "/",
  plugins: [react(), tailwindcss()],
  server: { host: "127.0.0.1", port: 5173, proxy },
  preview: { host: "127.0.0.1", proxy, headers: { "Content-Security-Policy": CONTENT_SECURITY_POLICY } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    assetsInlineLimit: 0,
    rolldownOptions: {
      output: {
        entryFileNames: "assets/[name]-[hash].js",
        chunkFileNames: "assets/[name]-[hash].js",
        assetFileNames: "assets/[name]-[hash][extname]",
      },
    },
  },
  test: {
    globals: true,
    environment: "jsdom",
    setupFiles: ["./src/testing/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    restoreMocks: true,
  },
});
