// The cart: kept in localStorage so that it survives reloads, sign-outs and expired sessions,
// and shared between tabs through the storage event.
import { useSyncExternalStore } from "react";

export interface CartItem {
  bookId: string;
  title: string;
  authors: string[];
  format: string;
  /** The price when the book was added; checkout shows the catalogue's current price. */
  price: string;
  quantity: number;
}

export const MAX_QUANTITY = 100;
export const MAX_LINES = 50;
const KEY = "bookstore.cart.v1";

export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

function clampQuantity(n: number): number {
  if (!Number.isFinite(n)) return 1;
  return Math.min(MAX_QUANTITY, Math.max(1, Math.trunc(n)));
}

function isItem(value: unknown): value is CartItem {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.bookId === "string" &&
    typeof v.title === "string" &&
    Array.isArray(v.authors) &&
    typeof v.format === "string" &&
    typeof v.price === "string" &&
    typeof v.quantity === "number"
  );
}

export function readCart(storage: StorageLike): CartItem[] {
  try {
    const parsed: unknown = JSON.parse(storage.getItem(KEY) ?? "[]");
    if (!Array.isArray(parsed)) return [];
    return parsed.filter(isItem).map((i) => ({ ...i, quantity: clampQuantity(i.quantity) }));
  } catch {
    return [];
  }
}

export function addItem(items: CartItem[], item: Omit<CartItem, "quantity">, quantity = 1): CartItem[] {
  const existing = items.find((i) => i.bookId === item.bookId);
  if (existing) {
    return items.map((i) =>
      i.bookId === item.bookId ? { ...i, ...item, quantity: clampQuantity(i.quantity + quantity) } : i,
    );
  }
  if (items.length >= MAX_LINES) return items;
  return [...items, { ...item, quantity: clampQuantity(quantity) }];
}

export function setQuantity(items: CartItem[], bookId: string, quantity: number): CartItem[] {
  if (quantity <= 0) return removeItem(items, bookId);
  return items.map((i) => (i.bookId === bookId ? { ...i, quantity: clampQuantity(quantity) } : i));
}

export function removeItem(items: CartItem[], bookId: string): CartItem[] {
  return items.filter((i) => i.bookId !== bookId);
}

export function countItems(items: readonly CartItem[]): number {
  return items.reduce((n, i) => n + i.quantity, 0);
}

export interface CartStore {
  getItems: () => CartItem[];
  subscribe: (listener: () => void) => () => void;
  add: (item: Omit<CartItem, "quantity">, quantity?: number) => void;
  setQuantity: (bookId: string, quantity: number) => void;
  remove: (bookId: string) => void;
  clear: () => void;
}

export function createCartStore(storage: StorageLike, target?: Pick<Window, "addEventListener">): CartStore {
  let items = readCart(storage);
  const listeners = new Set<() => void>();
  const emit = () => {
    for (const l of listeners) l();
  };
  const write = (next: CartItem[]) => {
    items = next;
    if (next.length === 0) storage.removeItem(KEY);
    else storage.setItem(KEY, JSON.stringify(next));
    emit();
  };
  target?.addEventListener("storage", (event) => {
    if (event.key === KEY || event.key === null) {
      items = readCart(storage);
      emit();
    }
  });
  return {
    getItems: () => items,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    add: (item, quantity) => write(addItem(items, item, quantity)),
    setQuantity: (bookId, quantity) => write(setQuantity(items, bookId, quantity)),
    remove: (bookId) => write(removeItem(items, bookId)),
    clear: () => write([]),
  };
}

const memory = new Map<string, string>();
const fallbackStorage: StorageLike = {
  getItem: (k) => memory.get(k) ?? null,
  setItem: (k, v) => void memory.set(k, v),
  removeItem: (k) => void memory.delete(k),
};

function browserStorage(): StorageLike {
  try {
    const probe = "bookstore.probe";
    window.localStorage.setItem(probe, probe);
    window.localStorage.removeItem(probe);
    return window.localStorage;
  } catch {
    return fallbackStorage;
  }
}

export const cart: CartStore = createCartStore(
  typeof window === "undefined" ? fallbackStorage : browserStorage(),
  typeof window === "undefined" ? undefined : window,
);

export function useCart(store: CartStore = cart): CartItem[] {
  return useSyncExternalStore(store.subscribe, store.getItems, store.getItems);
}
