import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { createSession } from "../../lib/session";
import { book, json, mockFetch, problem, renderRoutes, sessionBody } from "../../testing/test-utils";
import { SessionContext } from "../auth/use-session";
import { BookPage } from "./BookPage";

function signedIn() {
  const store = createSession({ fetch: (r) => globalThis.fetch(r) });
  store.accept(sessionBody("t1"));
  return store;
}

const pendingOrder = {
  id: "o9",
  user_id: "u1",
  status: "pending",
  reason: null,
  lines: [{ book_id: "b1", title: "The Hobbit", unit_price: "12.50", quantity: 1, line_total: "12.50" }],
  total: "12.50",
  created_at: "2026-12-06T10:00:00Z",
  updated_at: "2026-12-06T10:00:00Z",
};

function renderBook(store = signedIn()) {
  return renderRoutes([
    {
      path: "/books/:id",
      element: (
        <SessionContext.Provider value={store}>
          <BookPage />
        </SessionContext.Provider>
      ),
    },
  ], { path: "/books/b1" });
}

describe("the book page", () => {
  it("disables the buy button while the reader's order for this book is pending", async () => {
    mockFetch((request) => {
      const url = new URL(request.url);
      if (url.pathname === "/api/v1/orders/pending") {
        expect(url.searchParams.get("book_id")).toBe("b1");
        return json(pendingOrder);
      }
      return json(book());
    });
    renderBook();
    const buy = await screen.findByRole("button", { name: "Order is being processed" });
    expect(buy).toBeDisabled();
    expect(screen.getByRole("link", { name: "Follow your order" })).toHaveAttribute("href", "/orders/o9");
  });

  it("buys one copy and then says the order is being processed", async () => {
    let placed = false;
    mockFetch((request) => {
      const url = new URL(request.url);
      if (url.pathname === "/api/v1/orders/pending") return placed ? json(pendingOrder) : problem(404, "not_found");
      if (url.pathname === "/api/v1/orders" && request.method === "POST") {
        placed = true;
        expect(request.headers.get("idempotency-key")).toBeTruthy();
        return json(pendingOrder, 202);
      }
      return json(book());
    });
    const user = userEvent.setup();
    renderBook();
    await user.click(await screen.findByRole("button", { name: "Buy now" }));
    await waitFor(() => expect(screen.getByRole("button", { name: "Order is being processed" })).toBeDisabled());
  });

  it("shows the summary only when the API has one", async () => {
    mockFetch((request) =>
      new URL(request.url).pathname === "/api/v1/orders/pending"
        ? problem(404, "not_found")
        : json({ ...book(), summary: "A hobbit goes there and back again." }),
    );
    renderBook();
    expect(await screen.findByRole("heading", { name: "Summary" })).toBeInTheDocument();
    expect(screen.getByText("A hobbit goes there and back again.")).toBeInTheDocument();
  });

  it("has no summary section without one, and says when the book does not exist", async () => {
    mockFetch((request) => (new URL(request.url).pathname === "/api/v1/books/b1" ? problem(404, "not_found") : json({})));
    renderBook();
    expect(await screen.findByRole("heading", { name: "Book not found" })).toBeInTheDocument();
    expect(screen.queryByRole("heading", { name: "Summary" })).not.toBeInTheDocument();
  });
});
