import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { bookKeys } from "../../api/keys";
import type { Book, BookListQuery } from "../../api/types";
import { api, unwrap } from "../../lib/api-client";

export function useBooks(query: BookListQuery) {
  return useQuery({
    queryKey: bookKeys.list(query),
    queryFn: async () => unwrap(await api.GET("/api/v1/books", { params: { query } })),
    placeholderData: keepPreviousData,
  });
}

export async function fetchBook(id: string): Promise<Book> {
  return unwrap(await api.GET("/api/v1/books/{id}", { params: { path: { id } } }));
}
