import { Link } from "react-router";
import type { Book } from "../../api/types";
import { BookCover } from "../../components/BookCover";
import { Button } from "../../components/ui";
import { formatMoney } from "../../lib/money";
import { cart, MAX_QUANTITY, type CartItem } from "./cart-store";

/** The lines of the cart, editable or not; `errors` are messages per book id (e.g. from checkout). */
export function CartLines({
  items,
  books,
  editable,
  errors = {},
}: {
  items: CartItem[];
  books: Map<string, Book> | undefined;
  editable: boolean;
  errors?: Record<string, string>;
}) {
  return (
    <ul className="divide-y divide-stone-200" aria-label="Books in your cart">
      {items.map((item) => {
        const book = books?.get(item.bookId);
        const price = book?.price ?? item.price;
        const gone = books !== undefined && !book;
        const short = book && book.available < item.quantity;
        const errorId = `line-error-${item.bookId}`;
        const error = errors[item.bookId];
        return (
          <li key={item.bookId} className="flex gap-4 py-4">
            <div className="w-16 shrink-0 sm:w-20">
              <BookCover
                size="sm"
                book={{
                  id: item.bookId,
                  title: item.title,
                  authors: item.authors,
                  cover_url: book?.cover_url ?? null,
                  cover_thumbnail_url: book?.cover_thumbnail_url ?? null,
                }}
              />
            </div>
            <div className="min-w-0 flex-1">
              <div className="flex flex-wrap items-start justify-between gap-2">
                <div className="min-w-0">
                  <Link to={`/books/${item.bookId}`} className="font-serif font-semibold text-stone-900 underline-offset-2 hover:underline">
                    {item.title}
                  </Link>
                  <p className="text-sm text-stone-700">{item.authors.join(", ")}</p>
                  <p className="text-sm text-stone-700">{formatMoney(price)} each</p>
                </div>
                <p className="font-semibold text-stone-900">{formatMoney((Number(price) * item.quantity).toFixed(2))}</p>
              </div>
              {gone && <p className="mt-1 text-sm text-red-800">This book is no longer in the catalogue.</p>}
              {short && !gone && (
                <p className="mt-1 text-sm text-amber-900">
                  {book.available === 0 ? "Out of stock at the moment." : `Only ${book.available} in stock.`}
                </p>
              )}
              {error && (
                <p id={errorId} className="mt-1 text-sm text-red-800">
                  {error}
                </p>
              )}
              {editable ? (
                <div className="mt-2 flex flex-wrap items-center gap-x-2 gap-y-1">
                  <label className="flex items-center gap-2 text-sm text-stone-800">
                    Quantity
                    <input
                      type="number"
                      min={1}
                      max={MAX_QUANTITY}
                      value={item.quantity}
                      aria-describedby={error ? errorId : undefined}
                      onChange={(e) => {
                        const n = Number(e.target.value);
                        if (Number.isFinite(n) && n >= 1) cart.setQuantity(item.bookId, n);
                      }}
                      className="min-h-11 w-16 rounded-lg border border-stone-300 bg-white px-2 py-1 text-stone-900 focus:border-teal-700 focus:outline-none focus:ring-2 focus:ring-teal-700/30"
                    />
                  </label>
                  <Button variant="ghost" className="px-2" onClick={() => cart.remove(item.bookId)} aria-label={`Remove ${item.title}`}>
                    Remove
                  </Button>
                </div>
              ) : (
                <p className="mt-1 text-sm text-stone-800">Quantity: {item.quantity}</p>
              )}
            </div>
          </li>
        );
      })}
    </ul>
  );
}

export function cartTotal(items: CartItem[], books: Map<string, Book> | undefined): string {
  let cents = 0;
  for (const i of items) {
    const price = books?.get(i.bookId)?.price ?? i.price;
    cents += Math.round(Number(price) * 100) * i.quantity;
  }
  return (cents / 100).toFixed(2);
}
