import { useQuery } from "@tanstack/react-query";
import { bookKeys } from "../../api/keys";
import type { Book } from "../../api/types";
import { api, unwrap } from "../../lib/api-client";

/** The catalogue's current view of the books in the cart (price, stock), by id. */
export function useCartBooks(ids: readonly string[]) {
  return useQuery({
    queryKey: bookKeys.lookup(ids),
    enabled: ids.length > 0,
    queryFn: async (): Promise<Map<string, Book>> => {
      const answer = unwrap(await api.POST("/api/v1/books/lookup", { body: { ids: [...ids] } }));
      return new Map(answer.books.map((b) => [b.id, b]));
    },
  });
}
