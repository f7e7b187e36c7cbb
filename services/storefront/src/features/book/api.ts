import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { bookKeys, orderKeys } from "../../api/keys";
import { newIdempotencyKey } from "../../lib/ids";
import { fetchBook } from "../catalogue/api";
import { useSession } from "../auth/use-session";
import { fetchPendingOrder, orderChanged, placeOrder, withPushedStatus } from "../orders/api";
import { useLive } from "../orders/live";

export function useBook(id: string) {
  return useQuery({ queryKey: bookKeys.detail(id), queryFn: () => fetchBook(id) });
}

/** The reader's pending order for this book (null: none); polled while the socket is down. */
export function usePendingOrder(bookId: string) {
  const state = useSession();
  const { connected, pollInterval } = useLive();
  return useQuery({
    queryKey: orderKeys.pending(bookId),
    queryFn: () => fetchPendingOrder(bookId),
    enabled: state.status === "authenticated",
    refetchInterval: (query) => (!connected && query.state.data ? pollInterval : false),
  });
}

/** "Buy now": one copy, one order; the key is kept until an order is placed, so a retry never buys twice. */
export function useBuyNow(bookId: string) {
  const qc = useQueryClient();
  const [key, setKey] = useState(newIdempotencyKey);
  return useMutation({
    mutationFn: () => placeOrder([{ book_id: bookId, quantity: 1 }], key),
    onSuccess: (placed) => {
      const order = withPushedStatus(placed);
      setKey(newIdempotencyKey());
      qc.setQueryData(orderKeys.detail(order.id), order);
      qc.setQueryData(orderKeys.pending(bookId), order.status === "pending" ? order : null);
      orderChanged(qc, order);
    },
  });
}
