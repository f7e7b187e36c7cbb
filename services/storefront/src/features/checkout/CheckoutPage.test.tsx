import { renderHook, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { book, json, mockFetch, problem, renderAt } from "../../testing/test-utils";
import { cart, type CartItem } from "../cart/cart-store";
import { CheckoutPage, useCheckoutKey } from "./CheckoutPage";

const item = (id: string, quantity: number): CartItem => ({
  bookId: id,
  title: `Book ${id}`,
  authors: ["A"],
  format: "paperback",
  price: "10.00",
  quantity,
});

describe("checkout", () => {
  beforeEach(() => cart.clear());

  it("keeps one idempotency key while the cart stays the same, and a new one when it changes", () => {
    const { result, rerender } = renderHook(({ items }) => useCheckoutKey(items), { initialProps: { items: [item("a", 1)] } });
    const first = result.current;
    rerender({ items: [item("a", 1)] });
    expect(result.current).toBe(first);
    rerender({ items: [item("a", 2)] });
    expect(result.current).not.toBe(first);
  });

  it("sends the same key when a failed attempt is retried, so one order is placed at most once", async () => {
    cart.add({ bookId: "b1", title: "The Hobbit", authors: ["Tolkien"], format: "paperback", price: "12.50" }, 2);
    const keys: string[] = [];
    let attempts = 0;
    mockFetch(async (request) => {
      const path = new URL(request.url).pathname;
      if (path === "/api/v1/books/lookup") return json({ books: [book()] });
      if (path === "/api/v1/orders" && request.method === "POST") {
        keys.push(request.headers.get("idempotency-key") ?? "");
        expect(await request.json()).toEqual({ lines: [{ book_id: "b1", quantity: 2 }] });
        attempts += 1;
        if (attempts === 1) throw new TypeError("Failed to fetch");
        return json({ id: "o1", user_id: "u1", status: "pending", reason: null, lines: [], total: "25.00", created_at: "2026-12-06T10:00:00Z", updated_at: "2026-12-06T10:00:00Z" }, 202);
      }
      return problem(404, "not_found");
    });
    const user = userEvent.setup();
    renderAt(<CheckoutPage />, { path: "/checkout" });
    await user.click(await screen.findByRole("button", { name: "Place order" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Cannot reach the shop");
    await user.click(screen.getByRole("button", { name: "Place order" }));
    await waitFor(() => expect(screen.getByRole("status", { name: "Current address" })).toHaveTextContent("/orders/o1"));
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBe(keys[1]);
    expect(keys[0]).not.toBe("");
    expect(cart.getItems()).toEqual([]);
  });

  it("shows a line's problem next to that line", async () => {
    cart.add({ bookId: "b1", title: "The Hobbit", authors: ["Tolkien"], format: "paperback", price: "12.50" });
    cart.add({ bookId: "b2", title: "Dune", authors: ["Herbert"], format: "ebook", price: "9.99" });
    mockFetch((request) => {
      const path = new URL(request.url).pathname;
      if (path === "/api/v1/books/lookup") return json({ books: [book(), book({ id: "b2", title: "Dune" })] });
      return problem(422, "validation_failed", { errors: { "lines[1].book_id": ["no such book"] } });
    });
    const user = userEvent.setup();
    renderAt(<CheckoutPage />, { path: "/checkout" });
    await user.click(await screen.findByRole("button", { name: "Place order" }));
    expect(await screen.findByText("No such book.")).toBeInTheDocument();
    const lines = screen.getAllByRole("listitem");
    expect(lines[1]).toHaveTextContent("No such book.");
    expect(lines[0]).not.toHaveTextContent("No such book.");
  });
});
