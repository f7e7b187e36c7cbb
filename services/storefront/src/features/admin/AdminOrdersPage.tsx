import { useEffect } from "react";
import { Link, useSearchParams } from "react-router";
import type { Order, OrderListQuery, OrderStatus } from "../../api/types";
import { Pager, pageHrefs } from "../../components/Pager";
import { parseStatus, reasonText, StatusBadge, StatusFilter } from "../../components/StatusBadge";
import { Button, EmptyState, ErrorState, FormError, LoadingState, PageHeader } from "../../components/ui";
import { formatMoney } from "../../lib/money";
import { useCancelOrder, useSetOrderStatus } from "../orders/api";
import { useLive } from "../orders/live";
import { useAdminOrders } from "./api";

const PAGE_SIZE = 25;

export function AdminOrdersPage() {
  const [params] = useSearchParams();
  const status = parseStatus(params.get("status"));
  const page = Math.max(1, Number(params.get("page") ?? "1") || 1);
  const { connected, pollInterval } = useLive();
  const query: OrderListQuery = { limit: PAGE_SIZE, page, ...(status ? { status } : {}) };
  const orders = useAdminOrders(query);
  const setStatus = useSetOrderStatus();
  const cancel = useCancelOrder();

  return (
    <div>
      <PageHeader title="Orders">
        <div className="flex w-full flex-wrap items-end justify-between gap-3 sm:w-auto">
          <p className="order-2 text-sm text-stone-700 sm:order-1">{connected ? "Live updates on" : "Checking for updates"}</p>
          <div className="order-1 w-48 sm:order-2">
            <StatusFilter status={status} />
          </div>
        </div>
      </PageHeader>
      <FormError error={setStatus.error ?? cancel.error} />
      <OrdersTable
        orders={orders.data?.items}
        loading={orders.isPending}
        error={orders.isError ? orders.error : null}
        onRetry={() => void orders.refetch()}
        busy={setStatus.isPending || cancel.isPending}
        onStatus={(id, s) => setStatus.mutate({ id, status: s })}
        onCancel={(id) => cancel.mutate(id)}
      />
      {orders.data && (
        <Pager
          page={page}
          total={orders.data.total}
          pageSize={PAGE_SIZE}
          label="Order pages"
          hrefFor={pageHrefs(params)}
        />
      )}
      {!connected && <PollWhileOffline refetch={() => void orders.refetch()} interval={pollInterval * 5} />}
    </div>
  );
}


function PollWhileOffline({ refetch, interval }: { refetch: () => void; interval: number }) {
  useEffect(() => {
    const t = setInterval(refetch, interval);
    return () => clearInterval(t);
  }, [refetch, interval]);
  return null;
}

function OrdersTable({
  orders,
  loading,
  error,
  onRetry,
  busy,
  onStatus,
  onCancel,
}: {
  orders: Order[] | undefined;
  loading: boolean;
  error: unknown;
  onRetry: () => void;
  busy: boolean;
  onStatus: (id: string, status: OrderStatus) => void;
  onCancel: (id: string) => void;
}) {
  if (loading) return <LoadingState label="Loading orders" />;
  if (error) return <ErrorState error={error} onRetry={onRetry} />;
  if (!orders || orders.length === 0) return <EmptyState title="No orders" />;
  const actions = (o: Order) => (
    <>
      {o.status === "completed" && (
        <Button variant="secondary" disabled={busy} onClick={() => onStatus(o.id, "shipped")} aria-label={`Ship order ${o.id}`}>
          Ship
        </Button>
      )}
      {o.status === "shipped" && (
        <Button variant="secondary" disabled={busy} onClick={() => onStatus(o.id, "delivered")} aria-label={`Mark order ${o.id} delivered`}>
          Mark delivered
        </Button>
      )}
      {(o.status === "pending" || o.status === "completed") && (
        <Button variant="ghost" disabled={busy} onClick={() => onCancel(o.id)} aria-label={`Cancel order ${o.id}`}>
          Cancel
        </Button>
      )}
    </>
  );
  return (
    <>
      <ul className="space-y-3 sm:hidden" aria-label="Orders, newest first">
        {orders.map((o) => (
          <li key={o.id} className="rounded-xl border border-stone-200 bg-white p-4 shadow-sm">
            <div className="flex items-start justify-between gap-3">
              <Link to={`/orders/${o.id}`} className="font-medium text-teal-900 underline-offset-2 hover:underline">
                {o.lines.map((l) => l.title).join(", ")}
              </Link>
              <StatusBadge status={o.status} />
            </div>
            <p className="mt-1 text-sm text-stone-700">
              {new Date(o.created_at).toLocaleString()} · {formatMoney(o.total)}
            </p>
            <p className="text-xs break-all text-stone-600">{o.id}</p>
            {reasonText(o.reason) && <p className="mt-1 text-sm text-red-900">{reasonText(o.reason)}</p>}
            <div className="mt-2 flex flex-wrap gap-2">{actions(o)}</div>
          </li>
        ))}
      </ul>
      <div className="hidden overflow-x-auto rounded-xl border border-stone-200 bg-white shadow-sm sm:block">
      <table className="w-full min-w-[44rem] text-left text-sm">
        <caption className="sr-only">Orders, newest first</caption>
        <thead className="bg-stone-100 text-stone-800">
          <tr>
            <th scope="col" className="px-4 py-3 font-semibold">Order</th>
            <th scope="col" className="px-4 py-3 font-semibold">Placed</th>
            <th scope="col" className="px-4 py-3 text-right font-semibold">Total</th>
            <th scope="col" className="px-4 py-3 font-semibold">Status</th>
            <th scope="col" className="px-4 py-3 text-right font-semibold">Actions</th>
          </tr>
        </thead>
        <tbody className="divide-y divide-stone-200">
          {orders.map((o) => {
            const name = o.lines.map((l) => l.title).join(", ");
            return (
              <tr key={o.id}>
                <td className="max-w-xs px-4 py-3">
                  <Link to={`/orders/${o.id}`} className="line-clamp-2 font-medium text-teal-900 underline-offset-2 hover:underline">
                    {name}
                  </Link>
                  <div className="text-xs text-stone-600">{o.id}</div>
                </td>
                <td className="px-4 py-3 text-stone-800">{new Date(o.created_at).toLocaleString()}</td>
                <td className="px-4 py-3 text-right text-stone-900">{formatMoney(o.total)}</td>
                <td className="px-4 py-3">
                  <StatusBadge status={o.status} />
                  {reasonText(o.reason) && <div className="mt-1 text-xs text-red-900">{reasonText(o.reason)}</div>}
                </td>
                <td className="px-4 py-3 text-right">
                  <span className="inline-flex flex-wrap justify-end gap-2">{actions(o)}</span>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      </div>
    </>
  );
}
