import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { bookKeys, orderKeys } from "../../api/keys";
import type { Book, DocumentKind, Order } from "../../api/types";
import { api, unwrap } from "../../lib/api-client";
import { filenameFrom, safeFilename, saveBlob } from "../../lib/download";
import { newIdempotencyKey } from "../../lib/ids";
import { fetchBook } from "../catalogue/api";
import { useSession } from "../auth/use-session";
import { fetchBoughtOrder, fetchPendingOrder, orderChanged, placeOrder, withPushedStatus } from "../orders/api";
import { useLive } from "../orders/live";
import { summaryPollInterval } from "./summary";

/**
 * One book. While its summary is pending the book is asked for again every few seconds (stopping
 * once it settles); an admin with a live socket is also told when it settles, so for them this
 * is only a slow fallback.
 */
export function useBook(id: string) {
  const state = useSession();
  const { connected, pollInterval } = useLive();
  const pushed = connected && state.status === "authenticated" && state.user.role === "admin";
  return useQuery({
    queryKey: bookKeys.detail(id),
    queryFn: () => fetchBook(id),
    refetchInterval: (query) => summaryPollInterval(query.state.data, pushed, pollInterval),
  });
}

/** The reader's pending order for this book (null: none); polled while the socket is down. */
export function usePendingOrder(bookId: string) {
  const state = useSession();
  const qc = useQueryClient();
  const { connected, pollInterval } = useLive();
  return useQuery({
    queryKey: orderKeys.pending(bookId),
    queryFn: async () => {
      const before = qc.getQueryData<Order | null>(orderKeys.pending(bookId));
      const now = await fetchPendingOrder(bookId);
      // The pending order settled (seen by polling, not pushed): it may have bought the book.
      if (before && !now) void qc.invalidateQueries({ queryKey: orderKeys.bought(bookId) });
      return now;
    },
    enabled: state.status === "authenticated",
    refetchInterval: (query) => (!connected && query.state.data ? pollInterval : false),
  });
}

/** The reader's order that bought this book (null: not bought), asked only when `enabled`. */
export function useBoughtOrder(bookId: string, enabled: boolean) {
  return useQuery({
    queryKey: orderKeys.bought(bookId),
    queryFn: () => fetchBoughtOrder(bookId),
    enabled,
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

export const DOCUMENT_KINDS: Record<DocumentKind, { label: string; extension: string }> = {
  pdf: { label: "PDF", extension: ".pdf" },
  epub: { label: "EPUB", extension: ".epub" },
  text: { label: "plain text", extension: ".txt" },
};

/**
 * Downloads the book's document with the bearer token (through the one client, so an expired
 * token is refreshed) and saves it under the name the server gives, or the title.
 */
export function useDownloadDocument(book: Pick<Book, "id" | "title" | "document_kind">) {
  return useMutation({
    mutationFn: async () => {
      const result = await api.GET("/api/v1/books/{id}/document", { params: { path: { id: book.id } }, parseAs: "blob" });
      const blob = unwrap(result);
      const fallback = safeFilename(book.title, book.document_kind ? DOCUMENT_KINDS[book.document_kind].extension : "");
      saveBlob(blob, filenameFrom(result.response.headers.get("content-disposition")) ?? fallback);
    },
  });
}
