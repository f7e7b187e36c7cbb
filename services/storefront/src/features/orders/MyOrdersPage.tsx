import { useQuery } from "@tanstack/react-query";
import { Link, useSearchParams } from "react-router";
import { orderKeys } from "../../api/keys";
import type { OrderListQuery } from "../../api/types";
import { Pager, pageHrefs } from "../../components/Pager";
import { parseStatus, STATUS_LABELS, StatusBadge, StatusFilter, reasonText } from "../../components/StatusBadge";
import { Button, EmptyState, ErrorState, FormError, LoadingState, PageHeader, TextLink } from "../../components/ui";
import { api, unwrap } from "../../lib/api-client";
import { formatMoney } from "../../lib/money";
import { useCancelOrder } from "./api";

const PAGE_SIZE = 20;

export function MyOrdersPage() {
  const [params] = useSearchParams();
  const status = parseStatus(params.get("status"));
  const page = Math.max(1, Number(params.get("page") ?? "1") || 1);
  const query: OrderListQuery = { limit: PAGE_SIZE, page, ...(status ? { status } : {}) };
  const orders = useQuery({
    queryKey: orderKeys.list("mine", query),
    queryFn: async () => unwrap(await api.GET("/api/v1/orders", { params: { query } })),
  });
  const cancel = useCancelOrder();


  return (
    <div className="mx-auto max-w-4xl">
      <PageHeader title="Your orders">
        <div className="w-full sm:w-56">
          <StatusFilter status={status} />
        </div>
      </PageHeader>
      <FormError error={cancel.error} />
      {orders.isPending ? (
        <LoadingState label="Loading your orders" />
      ) : orders.isError ? (
        <ErrorState title="We could not load your orders" error={orders.error} onRetry={() => void orders.refetch()} />
      ) : orders.data.items.length === 0 ? (
        <EmptyState title={status ? `No ${STATUS_LABELS[status].toLowerCase()} orders` : "No orders yet"}>
          <p>
            <TextLink to="/">Browse the catalogue</TextLink> to find your next book.
          </p>
        </EmptyState>
      ) : (
        <>
          <ul className="space-y-3" aria-label="Orders">
            {orders.data.items.map((o) => (
              <li key={o.id} className="rounded-xl border border-stone-200 bg-white p-4 shadow-sm">
                <div className="flex flex-wrap items-center justify-between gap-3">
                  <div className="min-w-0">
                    <Link
                      to={`/orders/${o.id}`}
                      className="font-semibold text-teal-900 underline-offset-2 hover:underline"
                    >
                      {o.lines.map((l) => l.title).join(", ")}
                    </Link>
                    <p className="text-sm text-stone-700">
                      {new Date(o.created_at).toLocaleDateString()} · {o.lines.reduce((n, l) => n + l.quantity, 0)} book(s) ·{" "}
                      {formatMoney(o.total)}
                    </p>
                    {reasonText(o.reason) && <p className="text-sm text-red-900">{reasonText(o.reason)}</p>}
                  </div>
                  <div className="flex items-center gap-3">
                    <StatusBadge status={o.status} />
                    {o.status === "pending" && (
                      <Button
                        variant="secondary"
                        disabled={cancel.isPending}
                        onClick={() => cancel.mutate(o.id)}
                        aria-label={`Cancel order of ${o.lines.map((l) => l.title).join(", ")}`}
                      >
                        Cancel
                      </Button>
                    )}
                  </div>
                </div>
              </li>
            ))}
          </ul>
          <Pager page={page} total={orders.data.total} pageSize={PAGE_SIZE} hrefFor={pageHrefs(params)} label="Order pages" />
        </>
      )}
    </div>
  );
}
