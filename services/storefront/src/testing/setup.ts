import "@testing-library/jest-dom/vitest";
import { cleanup } from "@testing-library/react";
import { afterEach } from "vitest";
import { forgetPushedStatuses } from "../features/orders/api";

afterEach(() => {
  cleanup();
  window.localStorage.clear();
  forgetPushedStatuses();
});
