import { Link, useLocation, useParams } from "react-router";
import { reasonText, StatusBadge } from "../../components/StatusBadge";
import { Alert, Button, EmptyState, ErrorState, FormError, LoadingState, PageHeader, TextLink } from "../../components/ui";
import { formatMoney } from "../../lib/money";
import { isNotFound } from "../../lib/problem";
import { useCancelOrder } from "./api";
import { useLive, useLiveOrder } from "./live";

const WHAT_NEXT = {
  pending: "We have your order and are reserving your books. This page updates by itself.",
  completed: "Your books are reserved. We will ship them soon.",
  failed: "This order could not be completed.",
  cancelled: "This order was cancelled.",
  shipped: "Your books are on their way.",
  delivered: "Your books have been delivered. Enjoy!",
} as const;

export function OrderPage() {
  const { id = "" } = useParams();
  const location = useLocation();
  const placed = (location.state as { placed?: boolean } | null)?.placed === true;
  const order = useLiveOrder(id);
  const { connected } = useLive();
  const cancel = useCancelOrder();

  if (order.isPending) return <LoadingState label="Loading your order" />;
  if (order.isError) {
    if (isNotFound(order.error)) {
      return (
        <EmptyState title="Order not found">
          <p>
            There is no order with this address in your account. <TextLink to="/orders">See your orders</TextLink>
          </p>
        </EmptyState>
      );
    }
    return <ErrorState title="We could not load this order" error={order.error} onRetry={() => void order.refetch()} />;
  }
  const o = order.data;
  const reason = reasonText(o.reason);

  return (
    <div className="mx-auto max-w-3xl">
      <PageHeader title="Your order">
        <TextLink to="/orders">All your orders</TextLink>
      </PageHeader>
      {placed && (
        <div className="mb-4">
          <Alert tone="success">Thank you! Your order has been placed.</Alert>
        </div>
      )}
      <section aria-labelledby="status-heading" className="rounded-xl border border-stone-200 bg-white p-5 shadow-sm sm:p-6">
        <div className="flex flex-wrap items-center justify-between gap-3">
          <h2 id="status-heading" className="text-lg font-semibold text-stone-900">
            Status
          </h2>
          <div role="status" aria-live="polite" aria-atomic="true" className="flex items-center gap-2">
            <span className="sr-only">Order status:</span>
            <span data-testid="order-status">
              <StatusBadge status={o.status} />
            </span>
          </div>
        </div>
        <p className="mt-3 text-stone-800">{WHAT_NEXT[o.status]}</p>
        {reason && (
          <p className="mt-2 font-medium text-red-900">
            <span className="sr-only">Reason: </span>
            {reason}
          </p>
        )}
        <p className="mt-3 text-xs text-stone-600">
          Order {o.id} · placed {new Date(o.created_at).toLocaleString()} · {connected ? "live updates on" : "checking for updates"}
        </p>
        {o.status === "pending" && (
          <div className="mt-4">
            <FormError error={cancel.error} />
            <Button variant="secondary" className="mt-2" disabled={cancel.isPending} onClick={() => cancel.mutate(o.id)}>
              {cancel.isPending ? "Cancelling…" : "Cancel order"}
            </Button>
          </div>
        )}
      </section>

      <section aria-labelledby="lines-heading" className="mt-6 rounded-xl border border-stone-200 bg-white p-5 shadow-sm sm:p-6">
        <h2 id="lines-heading" className="text-lg font-semibold text-stone-900">
          Books
        </h2>
        <ul className="mt-3 divide-y divide-stone-200">
          {o.lines.map((line) => (
            <li key={line.book_id} className="flex flex-wrap items-baseline justify-between gap-2 py-3">
              <div>
                <Link to={`/books/${line.book_id}`} className="font-medium text-teal-900 underline-offset-2 hover:underline">
                  {line.title}
                </Link>
                <p className="text-sm text-stone-700">
                  {line.quantity} × {formatMoney(line.unit_price)}
                </p>
              </div>
              <p className="font-medium text-stone-900">{formatMoney(line.line_total)}</p>
            </li>
          ))}
        </ul>
        <div className="mt-3 flex justify-between border-t border-stone-300 pt-3 text-lg font-semibold">
          <span>Total</span>
          <span>{formatMoney(o.total)}</span>
        </div>
      </section>
    </div>
  );
}
