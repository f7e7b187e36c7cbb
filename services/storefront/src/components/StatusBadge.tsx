import { useSearchParams } from "react-router";
import { ORDER_STATUSES, type OrderStatus } from "../api/types";
import { SelectField } from "./ui";

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

/** The status an order list shows, from the URL's `status`: "" for every order. */
export function parseStatus(value: string | null): OrderStatus | "" {
  return (ORDER_STATUSES as readonly string[]).includes(value ?? "") ? (value as OrderStatus) : "";
}

/** "Show: All orders / Pending / ..." for an order list, kept in the URL's `status`. */
export function StatusFilter({ status }: { status: string }) {
  const [, setParams] = useSearchParams();
  return (
    <SelectField
      label="Show"
      value={status}
      onChange={(e) => {
        const next = new URLSearchParams();
        if (e.target.value) next.set("status", e.target.value);
        setParams(next);
      }}
    >
      <option value="">All orders</option>
      {ORDER_STATUSES.map((s) => (
        <option key={s} value={s}>
          {STATUS_LABELS[s]}
        </option>
      ))}
    </SelectField>
  );
}
