import type { OrderStatus } from "../api/types";

const STYLES: Record<OrderStatus, string> = {
  pending: "bg-amber-100 text-amber-950 ring-amber-300",
  completed: "bg-emerald-100 text-emerald-950 ring-emerald-300",
  failed: "bg-red-100 text-red-950 ring-red-300",
  cancelled: "bg-stone-200 text-stone-900 ring-stone-400",
  shipped: "bg-sky-100 text-sky-950 ring-sky-300",
  delivered: "bg-teal-100 text-teal-950 ring-teal-300",
};

export const STATUS_LABELS: Record<OrderStatus, string> = {
  pending: "Pending",
  completed: "Completed",
  failed: "Failed",
  cancelled: "Cancelled",
  shipped: "Shipped",
  delivered: "Delivered",
};

export function StatusBadge({ status }: { status: OrderStatus }) {
  return (
    <span className={`inline-flex items-center rounded-full px-2.5 py-0.5 text-sm font-semibold ring-1 ${STYLES[status]}`}>
      {STATUS_LABELS[status]}
    </span>
  );
}

const REASONS: Record<string, string> = {
  out_of_stock: "Not enough copies were in stock, so nothing was reserved or charged.",
};

export function reasonText(reason: string | null | undefined): string | null {
  if (!reason) return null;
  return REASONS[reason] ?? reason.replace(/_/g, " ");
}
