// One query-key factory per resource. Mutations and Socket.IO events invalidate or update
// exactly the keys they affect.
import type { BookListQuery, OrderListQuery, UserListQuery } from "./types";

export const bookKeys = {
  all: ["books"] as const,
  lists: () => [...bookKeys.all, "list"] as const,
  list: (query: BookListQuery) => [...bookKeys.lists(), query] as const,
  details: () => [...bookKeys.all, "detail"] as const,
  detail: (id: string) => [...bookKeys.details(), id] as const,
  lookups: () => [...bookKeys.all, "lookup"] as const,
  lookup: (ids: readonly string[]) => [...bookKeys.lookups(), [...ids].sort()] as const,
};

export const orderKeys = {
  all: ["orders"] as const,
  lists: () => [...orderKeys.all, "list"] as const,
  list: (scope: "mine" | "all", query: OrderListQuery) =>
    [...orderKeys.lists(), scope, query] as const,
  details: () => [...orderKeys.all, "detail"] as const,
  detail: (id: string) => [...orderKeys.details(), id] as const,
  pendings: () => [...orderKeys.all, "pending"] as const,
  pending: (bookId: string) => [...orderKeys.pendings(), bookId] as const,
  /** The reader's order that bought a book (null: not bought), which opens its document. */
  boughts: () => [...orderKeys.all, "bought"] as const,
  bought: (bookId: string) => [...orderKeys.boughts(), bookId] as const,
};

export const stockKeys = {
  all: ["stock"] as const,
  detail: (bookId: string) => [...stockKeys.all, bookId] as const,
};

export const userKeys = {
  all: ["users"] as const,
  me: () => [...userKeys.all, "me"] as const,
  lists: () => [...userKeys.all, "list"] as const,
  list: (query: UserListQuery) => [...userKeys.lists(), query] as const,
};
