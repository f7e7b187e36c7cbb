import { addItem, countItems, createCartStore, MAX_QUANTITY, readCart, setQuantity, type StorageLike } from "./cart-store";

function memoryStorage(): StorageLike & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return {
    data,
    getItem: (k) => data.get(k) ?? null,
    setItem: (k, v) => void data.set(k, v),
    removeItem: (k) => void data.delete(k),
  };
}

const hobbit = { bookId: "b1", title: "The Hobbit", authors: ["Tolkien"], format: "paperback", price: "12.50" };
const dune = { bookId: "b2", title: "Dune", authors: ["Herbert"], format: "ebook", price: "9.99" };

describe("cart", () => {
  it("adds books, merging the same book into one line", () => {
    let items = addItem([], hobbit);
    items = addItem(items, dune, 2);
    items = addItem(items, hobbit);
    expect(items).toHaveLength(2);
    expect(items.find((i) => i.bookId === "b1")?.quantity).toBe(2);
    expect(countItems(items)).toBe(4);
  });

  it("keeps quantities between 1 and the API's limit, and removes a line set to 0", () => {
    let items = addItem([], hobbit, 500);
    expect(items[0]?.quantity).toBe(MAX_QUANTITY);
    items = setQuantity(items, "b1", 3.7);
    expect(items[0]?.quantity).toBe(3);
    expect(setQuantity(items, "b1", 0)).toEqual([]);
  });

  it("survives a reload: a new store reads what the old one wrote", () => {
    const storage = memoryStorage();
    const first = createCartStore(storage);
    first.add(hobbit);
    first.add(dune, 3);
    const afterReload = createCartStore(storage);
    expect(afterReload.getItems().map((i) => [i.bookId, i.quantity])).toEqual([
      ["b1", 1],
      ["b2", 3],
    ]);
    afterReload.clear();
    expect(storage.data.size).toBe(0);
  });

  it("ignores a damaged or foreign value in storage", () => {
    const storage = memoryStorage();
    storage.setItem("bookstore.cart.v1", "{not json");
    expect(readCart(storage)).toEqual([]);
    storage.setItem("bookstore.cart.v1", JSON.stringify([{ bookId: 1 }, { ...hobbit, quantity: 2 }]));
    expect(readCart(storage)).toEqual([{ ...hobbit, quantity: 2 }]);
  });

  it("follows changes made in another tab", () => {
    const storage = memoryStorage();
    const target = new EventTarget();
    const store = createCartStore(storage, target);
    const listener = vi.fn();
    store.subscribe(listener);
    createCartStore(storage).add(dune);
    target.dispatchEvent(Object.assign(new Event("storage"), { key: "bookstore.cart.v1" }));
    expect(listener).toHaveBeenCalled();
    expect(store.getItems()).toHaveLength(1);
  });
});
