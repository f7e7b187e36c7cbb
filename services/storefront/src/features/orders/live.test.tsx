import { QueryClientProvider } from "@tanstack/react-query";
import { act, render, screen, waitFor } from "@testing-library/react";
import { bookKeys } from "../../api/keys";
import type { Order, User } from "../../api/types";
import type { LiveSocket } from "../../lib/socket";
import { createSession } from "../../lib/session";
import { admin, book, json, mockFetch, newQueryClient, sessionBody, user, withDocument, withSummary } from "../../testing/test-utils";
import { SessionContext } from "../auth/use-session";
import { useBook } from "../book/api";
import { applyStatusChange, withPushedStatus } from "./api";
import { LiveProvider, useLiveOrder } from "./live";

/** A socket the test drives: `emit` delivers a server event, `connected` is set by hand. */
class FakeSocket implements LiveSocket {
  connected = false;
  active = true;
  connects = 0;
  disconnects = 0;
  private handlers = new Map<string, Set<(arg?: unknown) => void>>();
  on(event: string, handler: (arg?: unknown) => void) {
    const set = this.handlers.get(event) ?? new Set();
    set.add(handler);
    this.handlers.set(event, set);
  }
  off(event: string, handler: (arg?: unknown) => void) {
    this.handlers.get(event)?.delete(handler);
  }
  connect() {
    this.connects += 1;
  }
  disconnect() {
    this.disconnects += 1;
    this.connected = false;
  }
  emit(event: string, arg?: unknown) {
    if (event === "connect") this.connected = true;
    if (event === "disconnect") this.connected = false;
    for (const h of this.handlers.get(event) ?? []) h(arg);
  }
}

function order(status: Order["status"], updated_at = "2026-12-06T10:00:00Z"): Order {
  return {
    id: "o1",
    user_id: "u1",
    status,
    reason: null,
    lines: [{ book_id: "b1", title: "The Hobbit", unit_price: "12.50", quantity: 1, line_total: "12.50" }],
    total: "12.50",
    created_at: "2026-12-06T10:00:00Z",
    updated_at,
  };
}

function Status() {
  const q = useLiveOrder("o1");
  return <p role="status">{q.data ? `${q.data.status}${q.data.reason ? ` (${q.data.reason})` : ""}` : "loading"}</p>;
}

function setup(serverOrder: () => Order, refreshToken = "t2") {
  const fetch = mockFetch((request) => {
    const path = new URL(request.url).pathname;
    if (path === "/api/v1/auth/refresh") return json(sessionBody(refreshToken));
    return json(serverOrder());
  });
  const store = createSession({ fetch: (r) => globalThis.fetch(r) });
  store.accept(sessionBody("t1"));
  const socket = new FakeSocket();
  const open = vi.fn((currentToken: () => string | null) => {
    expect(currentToken()).toBe("t1");
    return Promise.resolve(socket);
  });
  const client = newQueryClient();
  render(
    <SessionContext.Provider value={store}>
      <QueryClientProvider client={client}>
        <LiveProvider open={open} pollInterval={30}>
          <Status />
        </LiveProvider>
      </QueryClientProvider>
    </SessionContext.Provider>,
  );
  const orderCalls = () => fetch.mock.calls.filter(([r]) => new URL((r as Request).url).pathname === "/api/v1/orders/o1").length;
  return { socket, store, fetch, orderCalls, open };
}

describe("live order status", () => {
  it("shows a pushed status change without asking the API again", async () => {
    const { socket, orderCalls, open } = setup(() => order("pending"));
    await waitFor(() => expect(open).toHaveBeenCalled());
    act(() => socket.emit("connect"));
    await waitFor(() => expect(screen.getByRole("status")).toHaveTextContent("pending"));
    const before = orderCalls();
    act(() =>
      socket.emit("order_status_change", {
        event_id: "e2",
        order_id: "o1",
        user_id: "u1",
        status: "failed",
        reason: "out_of_stock",
        at: "2026-12-06T10:00:01Z",
      }),
    );
    await waitFor(() => expect(screen.getByRole("status")).toHaveTextContent("failed (out_of_stock)"));
    // An older event arriving late does not take the status back.
    act(() =>
      socket.emit("order_status_change", { event_id: "e1", order_id: "o1", user_id: "u1", status: "pending", reason: null, at: "2026-12-06T10:00:00.5Z" }),
    );
    await act(() => new Promise((r) => setTimeout(r, 20)));
    expect(screen.getByRole("status")).toHaveTextContent("failed (out_of_stock)");
    expect(orderCalls()).toBe(before);
  });

  it("polls the order while the socket cannot connect", async () => {
    let status: Order["status"] = "pending";
    const { socket, orderCalls } = setup(() => order(status, status === "pending" ? "2026-12-06T10:00:00Z" : "2026-12-06T10:00:02Z"));
    await waitFor(() => expect(screen.getByRole("status")).toHaveTextContent("pending"));
    act(() => socket.emit("connect_error", new Error("websocket error")));
    status = "completed";
    await waitFor(() => expect(screen.getByRole("status")).toHaveTextContent("completed"));
    expect(orderCalls()).toBeGreaterThanOrEqual(2);
  });

  it("catches up on connect, and reconnects with a fresh token after the server ends an expired socket", async () => {
    const { socket, store, orderCalls, open } = setup(() => order("completed"));
    await waitFor(() => expect(open).toHaveBeenCalled());
    await waitFor(() => expect(screen.getByRole("status")).toHaveTextContent("completed"));
    act(() => socket.emit("connect"));
    await waitFor(() => expect(orderCalls()).toBe(2));
    act(() => socket.emit("disconnect", "io server disconnect"));
    await waitFor(() => expect(socket.connects).toBe(1));
    expect(store.currentToken()).toBe("t2");
  });

  it("reads the order again when the gateway says it may have missed changes", async () => {
    let status: Order["status"] = "pending";
    const { socket, orderCalls, open } = setup(() => order(status, status === "pending" ? "2026-12-06T10:00:00Z" : "2026-12-06T10:00:02Z"));
    await waitFor(() => expect(open).toHaveBeenCalled());
    act(() => socket.emit("connect"));
    await waitFor(() => expect(screen.getByRole("status")).toHaveTextContent("pending"));
    const before = orderCalls();
    // The change was made while the gateway was cut off from the broker: no push comes for it.
    status = "completed";
    act(() => socket.emit("resync", { reason: "live updates were interrupted; read your orders again" }));
    await waitFor(() => expect(screen.getByRole("status")).toHaveTextContent("completed"));
    expect(orderCalls()).toBe(before + 1);
  });

  it("retries a refused handshake with a fresh token a few times, then leaves it to polling", async () => {
    const { socket } = setup(() => order("completed"));
    await waitFor(() => expect(screen.getByRole("status")).toHaveTextContent("completed"));
    socket.active = false;
    for (let i = 0; i < 5; i++) {
      act(() => socket.emit("connect_error", new Error("the access token is invalid or expired")));
      await waitFor(() => expect(socket.connects).toBe(Math.min(i + 1, 3)));
    }
    expect(socket.connects).toBe(3);
  });
});

describe("a status pushed before the order is known", () => {
  it("is applied to the order when its answer arrives", () => {
    const client = newQueryClient();
    applyStatusChange(client, {
      event_id: "e1",
      order_id: "o7",
      user_id: "u1",
      status: "completed",
      reason: null,
      at: "2026-12-06T10:00:00.2Z",
    });
    const placed = { ...order("pending"), id: "o7", updated_at: "2026-12-06T10:00:00.1Z" };
    expect(withPushedStatus(placed).status).toBe("completed");
    expect(withPushedStatus({ ...placed, id: "o8" }).status).toBe("pending");
  });
});

describe("a settled book summary pushed to admins", () => {
  const pending = withSummary(withDocument(book()), { status: "pending" });
  const ready = withSummary(withDocument(book()), { status: "ready", method: "extractive", text: "A hobbit.", updated_at: "2026-12-07T10:00:05Z" });
  const settled = { event_id: "e9", book_id: "b1", status: "ready", method: "extractive", reason: null, at: "2026-12-07T10:00:05Z" };

  function Summary() {
    const q = useBook("b1");
    return <p role="status">{q.data ? q.data.summary.status : "loading"}</p>;
  }

  // The book page's query for b1 (its summary pending), another book and a list in the cache;
  // polling so slow that only the push can bring the change.
  function setupBooks(who: User) {
    let server = pending;
    const fetch = mockFetch((request) => {
      const path = new URL(request.url).pathname;
      if (path === "/api/v1/books/b1") return json(server);
      return json(order("completed"));
    });
    const store = createSession({ fetch: (r) => globalThis.fetch(r) });
    store.accept(sessionBody("t1", 900, who));
    const socket = new FakeSocket();
    const client = newQueryClient();
    client.setQueryData(bookKeys.detail("b2"), book({ id: "b2" }));
    client.setQueryData(bookKeys.list({ q: "hobbit" }), { items: [pending], total: 1, limit: 20, offset: 0 });
    render(
      <SessionContext.Provider value={store}>
        <QueryClientProvider client={client}>
          <LiveProvider open={() => Promise.resolve(socket)} pollInterval={60_000}>
            <Summary />
          </LiveProvider>
        </QueryClientProvider>
      </SessionContext.Provider>,
    );
    const bookCalls = () => fetch.mock.calls.filter(([r]) => new URL((r as Request).url).pathname === "/api/v1/books/b1").length;
    return {
      socket,
      client,
      bookCalls,
      settle: () => {
        server = ready;
      },
    };
  }

  it("has an admin's page ask for the book again, and the lists, not other books", async () => {
    const { socket, client, bookCalls, settle } = setupBooks(admin);
    await waitFor(() => expect(screen.getByRole("status")).toHaveTextContent("pending"));
    act(() => socket.emit("connect"));
    await waitFor(() => expect(bookCalls()).toBe(2)); // caught up on connect: the summary was pending
    settle();
    act(() => socket.emit("book.summary_ready", settled));
    await waitFor(() => expect(screen.getByRole("status")).toHaveTextContent("ready"));
    expect(bookCalls()).toBe(3);
    expect(client.getQueryState(bookKeys.list({ q: "hobbit" }))?.isInvalidated).toBe(true);
    expect(client.getQueryState(bookKeys.detail("b2"))?.isInvalidated).toBe(false);
  });

  it("is not listened for on a customer's socket", async () => {
    const { socket, client, bookCalls, settle } = setupBooks(user);
    await waitFor(() => expect(screen.getByRole("status")).toHaveTextContent("pending"));
    act(() => socket.emit("connect"));
    settle();
    act(() => socket.emit("book.summary_ready", settled));
    await act(() => new Promise((r) => setTimeout(r, 30)));
    expect(screen.getByRole("status")).toHaveTextContent("pending");
    expect(bookCalls()).toBe(1);
    expect(client.getQueryState(bookKeys.list({ q: "hobbit" }))?.isInvalidated).toBe(false);
  });
});
