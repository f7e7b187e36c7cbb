import { useMutation, useQueryClient, type QueryClient } from "@tanstack/react-query";
import { bookKeys, orderKeys, stockKeys } from "../../api/keys";
import type { Order, OrderStatus } from "../../api/types";
import { api, unwrap } from "../../lib/api-client";
import { ApiError } from "../../lib/problem";
import type { OrderStatusChange } from "../../lib/socket";

export async function fetchOrder(id: string): Promise<Order> {
  return unwrap(await api.GET("/api/v1/orders/{id}", { params: { path: { id } } }));
}

/** The reader's pending order for a book, or null when there is none. */
export async function fetchPendingOrder(bookId: string): Promise<Order | null> {
  try {
    return unwrap(await api.GET("/api/v1/orders/pending", { params: { query: { book_id: bookId } } }));
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

/** The reader's order that bought a book (completed, shipped or delivered), or null when none did. */
export async function fetchBoughtOrder(bookId: string): Promise<Order | null> {
  try {
    return unwrap(await api.GET("/api/v1/orders/bought", { params: { query: { book_id: bookId } } }));
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

export async function placeOrder(lines: { book_id: string; quantity: number }[], key: string): Promise<Order> {
  return unwrap(
    await api.POST("/api/v1/orders", {
      params: { header: { "Idempotency-Key": key } },
      body: { lines },
    }),
  );
}

/** Settles the caches after an order changed (from a mutation, a socket event or a poll). */
export function orderChanged(qc: QueryClient, order: Pick<Order, "id" | "status">) {
  void qc.invalidateQueries({ queryKey: orderKeys.lists() });
  // A new pending order was just written into the pending-for-book cache by whoever placed it;
  // asking again now could only race with the order's own progress.
  if (order.status !== "pending") void qc.invalidateQueries({ queryKey: orderKeys.pendings() });
  if (order.status !== "pending") {
    void qc.invalidateQueries({ queryKey: bookKeys.all });
    void qc.invalidateQueries({ queryKey: stockKeys.all });
    // A completed order opens its books' documents; a cancelled one may close them.
    void qc.invalidateQueries({ queryKey: orderKeys.boughts() });
  }
}

function newer(at: string, than: string): boolean {
  return Date.parse(at) >= Date.parse(than);
}

/**
 * A fetched order, unless the cache already holds a newer status (pushed while the request was
 * under way): then that status stays.
 */
export function newest(cached: Order | undefined, fetched: Order): Order {
  const order = withPushedStatus(fetched);
  if (cached?.id === order.id && Date.parse(cached.updated_at) > Date.parse(order.updated_at)) {
    return { ...order, status: cached.status, reason: cached.reason, updated_at: cached.updated_at };
  }
  return order;
}

// The newest pushed change per order, kept for a while: a change can arrive before the answer
// that creates the order in the cache (a placed order completes within milliseconds).
const recent = new Map<string, OrderStatusChange>();
const RECENT_LIMIT = 500;

function remember(change: OrderStatusChange) {
  const known = recent.get(change.order_id);
  if (known && Date.parse(known.at) > Date.parse(change.at)) return;
  recent.delete(change.order_id);
  recent.set(change.order_id, change);
  if (recent.size > RECENT_LIMIT) {
    const oldest = recent.keys().next();
    if (!oldest.done) recent.delete(oldest.value);
  }
}

/** Forgets every remembered change (on log-out, and between tests). */
export function forgetPushedStatuses() {
  recent.clear();
}

/** An order as the API answered it, with any newer status that was pushed meanwhile. */
export function withPushedStatus(order: Order): Order {
  const change = recent.get(order.id);
  if (change && Date.parse(change.at) > Date.parse(order.updated_at)) {
    return { ...order, status: change.status, reason: change.reason, updated_at: change.at };
  }
  return order;
}

/** Applies a pushed status change to the cached order, keeping the newest one. */
export function applyStatusChange(qc: QueryClient, change: OrderStatusChange) {
  remember(change);
  qc.setQueryData<Order>(orderKeys.detail(change.order_id), (old) =>
    old && newer(change.at, old.updated_at)
      ? { ...old, status: change.status, reason: change.reason, updated_at: change.at }
      : old,
  );
  orderChanged(qc, { id: change.order_id, status: change.status });
}

export function useCancelOrder() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (id: string): Promise<Order> =>
      unwrap(await api.POST("/api/v1/orders/{id}/cancel", { params: { path: { id } } })),
    onSuccess: (order) => {
      qc.setQueryData(orderKeys.detail(order.id), order);
      orderChanged(qc, order);
    },
  });
}

export function useSetOrderStatus() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async ({ id, status }: { id: string; status: OrderStatus }): Promise<Order> =>
      unwrap(await api.POST("/api/v1/orders/{id}/status", { params: { path: { id } }, body: { status } })),
    onSuccess: (order) => {
      qc.setQueryData(orderKeys.detail(order.id), order);
      orderChanged(qc, order);
    },
  });
}

/** Statuses after which nothing changes any more. */
export const FINAL: readonly OrderStatus[] = ["failed", "cancelled", "delivered"];
