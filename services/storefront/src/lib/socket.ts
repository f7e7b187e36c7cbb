// Live updates over Socket.IO: order status changes for every signed-in user, settled book
// summaries for admins. The client library is loaded only once someone signs in, so the first
// page of an anonymous visitor does not carry it.
import type { OrderStatus, SummaryMethod, SummaryStatus } from "../api/types";

/** The event every signed-in user receives when one of their orders changes (admins: any order). */
export const STATUS_EVENT = "order_status_change";
/** The event admins (only) receive when a book's summary is settled, ready or failed. */
export const SUMMARY_EVENT = "book.summary_ready";

/**
 * The event every socket receives when the gateway may have missed status changes (a broker
 * outage outlasted its queue): read the orders again, as after a reconnection.
 */
export const RESYNC_EVENT = "resync";

/** The payload of `order_status_change` (docs/notifications.md). */
export interface OrderStatusChange {
  event_id: string;
  order_id: string;
  user_id: string;
  status: OrderStatus;
  reason: string | null;
  at: string;
}

/** The payload of `book.summary_ready` (docs/summaries.md). */
export interface SummarySettled {
  event_id: string;
  book_id: string;
  status: Extract<SummaryStatus, "ready" | "failed">;
  method: SummaryMethod | null;
  reason: string | null;
  at: string;
}

type Handler = (arg?: unknown) => void;

/** The part of a Socket.IO client socket the app uses; tests pass a fake. */
export interface LiveSocket {
  readonly connected: boolean;
  /** True while the client retries by itself; false after a refused handshake. */
  readonly active?: boolean;
  on(event: string, handler: Handler): unknown;
  off(event: string, handler: Handler): unknown;
  connect(): unknown;
  disconnect(): unknown;
}

export async function openSocket(currentToken: () => string | null): Promise<LiveSocket> {
  const { io } = await import("socket.io-client");
  return io({
    path: "/socket.io",
    // WebSocket only: no sticky sessions needed in front of several gateways
    // (docs/notifications.md); when it cannot connect, pages poll over REST instead.
    transports: ["websocket"],
    auth: (cb) => {
      cb({ token: currentToken() ?? "" });
    },
    reconnectionDelayMax: 5000,
  });
}

export function isStatusChange(value: unknown): value is OrderStatusChange {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.order_id === "string" && typeof v.status === "string" && typeof v.at === "string";
}

export function isSummarySettled(value: unknown): value is SummarySettled {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.book_id === "string" && typeof v.status === "string" && typeof v.at === "string";
}
