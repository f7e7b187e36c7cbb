import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { bookKeys, orderKeys, stockKeys, userKeys } from "../../api/keys";
import type { Book, BookInput, OrderListQuery, Role, Stock, User, UserListQuery } from "../../api/types";
import { api, fileBody, unwrap } from "../../lib/api-client";
import { ApiError } from "../../lib/problem";
import { withNewestSummary } from "../book/summary";

export function useAdminOrders(query: OrderListQuery) {
  return useQuery({
    queryKey: orderKeys.list("all", query),
    queryFn: async () => unwrap(await api.GET("/api/v1/orders", { params: { query } })),
    placeholderData: keepPreviousData,
  });
}

export function useUsers(query: UserListQuery) {
  return useQuery({
    queryKey: userKeys.list(query),
    queryFn: async () => unwrap(await api.GET("/api/v1/users", { params: { query } })),
    placeholderData: keepPreviousData,
  });
}

export function useUpdateUser() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async ({ id, ...body }: { id: string; role?: Role; active?: boolean }): Promise<User> =>
      unwrap(await api.PATCH("/api/v1/users/{id}", { params: { path: { id } }, body })),
    onSuccess: () => void qc.invalidateQueries({ queryKey: userKeys.lists() }),
  });
}

export function useSaveBook(id: string | null) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (body: BookInput): Promise<Book> =>
      id === null
        ? unwrap(await api.POST("/api/v1/books", { body }))
        : unwrap(await api.PATCH("/api/v1/books/{id}", { params: { path: { id } }, body })),
    onSuccess: (book) => {
      qc.setQueryData(bookKeys.detail(book.id), book);
      void qc.invalidateQueries({ queryKey: bookKeys.lists() });
    },
  });
}

export function useDeleteBook() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (id: string) => {
      const { error, response } = await api.DELETE("/api/v1/books/{id}", { params: { path: { id } } });
      if (!response.ok) unwrap({ error, response });
    },
    onSuccess: (_, id) => {
      qc.removeQueries({ queryKey: bookKeys.detail(id) });
      void qc.invalidateQueries({ queryKey: bookKeys.lists() });
    },
  });
}

/** A book's two uploads: its cover image and its document (the book itself, to download). */
export type BookFile = "cover" | "document";

/** What a book looks like without the file: its JSON's fields for it are null. */
function withoutFile(book: Book, slot: BookFile): Book {
  return slot === "cover"
    ? { ...book, cover_url: null, cover_thumbnail_url: null }
    : { ...book, document_url: null, document_kind: null, document_bytes: null };
}

/**
 * Sets or replaces a book's cover or document. The upload goes through the one client like
 * every call (token refresh included); the answer is the book, which goes straight into the
 * cache so the new cover shows at once, and the lists that show it are asked again.
 */
export function useUploadBookFile(bookId: string, slot: BookFile) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (file: File): Promise<Book> => {
      const options = { params: { path: { id: bookId } }, ...fileBody(file) };
      return unwrap(
        slot === "cover"
          ? await api.PUT("/api/v1/books/{id}/cover", options)
          : await api.PUT("/api/v1/books/{id}/document", options),
      );
    },
    onSuccess: (book) => {
      // A new document's summary is pending: the book is then asked for again until it settles.
      qc.setQueryData<Book>(bookKeys.detail(book.id), (cached) => withNewestSummary(book, cached));
      void qc.invalidateQueries({ queryKey: bookKeys.lists() });
      void qc.invalidateQueries({ queryKey: bookKeys.lookups() });
    },
  });
}

/**
 * Asks for a new summary of the book's document: `202` answers the book with its summary
 * pending, which goes into the cache; `409` when the book has no document.
 */
export function useRequestSummary(bookId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (): Promise<Book> =>
      unwrap(await api.POST("/api/v1/books/{id}/summary", { params: { path: { id: bookId } } })),
    onSuccess: (book) => {
      qc.setQueryData<Book>(bookKeys.detail(book.id), (cached) => withNewestSummary(book, cached));
      void qc.invalidateQueries({ queryKey: bookKeys.lists() });
    },
    onError: (error) => {
      // Refused for want of a document: the document may have been removed elsewhere.
      if (error instanceof ApiError && error.status === 409) void qc.invalidateQueries({ queryKey: bookKeys.detail(bookId) });
    },
  });
}

export function useRemoveBookFile(bookId: string, slot: BookFile) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async () => {
      const options = { params: { path: { id: bookId } } };
      const { error, response } =
        slot === "cover"
          ? await api.DELETE("/api/v1/books/{id}/cover", options)
          : await api.DELETE("/api/v1/books/{id}/document", options);
      if (!response.ok) unwrap({ error, response });
    },
    onSuccess: () => {
      // The answer is 204: clear the file here, then take the book as the server has it.
      qc.setQueryData<Book>(bookKeys.detail(bookId), (old) => old && withoutFile(old, slot));
      void qc.invalidateQueries({ queryKey: bookKeys.all });
    },
  });
}

export function useStock(bookId: string) {
  return useQuery({
    queryKey: stockKeys.detail(bookId),
    queryFn: async () => unwrap(await api.GET("/api/v1/inventory/{book_id}", { params: { path: { book_id: bookId } } })),
  });
}

function stockSaved(qc: ReturnType<typeof useQueryClient>, stock: Stock) {
  qc.setQueryData(stockKeys.detail(stock.book_id), stock);
  // The catalogue's availability follows inventory within moments.
  void qc.invalidateQueries({ queryKey: bookKeys.all });
}

export function useSetStock(bookId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (available: number): Promise<Stock> =>
      unwrap(await api.PUT("/api/v1/inventory/{book_id}", { params: { path: { book_id: bookId } }, body: { available } })),
    onSuccess: (stock) => stockSaved(qc, stock),
  });
}

export function useAdjustStock(bookId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (delta: number): Promise<Stock> =>
      unwrap(
        await api.POST("/api/v1/inventory/{book_id}/adjust", { params: { path: { book_id: bookId } }, body: { delta } }),
      ),
    onSuccess: (stock) => stockSaved(qc, stock),
  });
}
