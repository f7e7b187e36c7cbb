import { Link } from "react-router";
import { buttonClass, EmptyState, PageHeader, TextLink } from "../../components/ui";
import { formatMoney } from "../../lib/money";
import { useCartBooks } from "./api";
import { CartLines, cartTotal } from "./CartLines";
import { countItems, useCart } from "./cart-store";

export function CartPage() {
  const items = useCart();
  const books = useCartBooks(items.map((i) => i.bookId));

  if (items.length === 0) {
    return (
      <div className="mx-auto max-w-3xl">
        <PageHeader title="Your cart" />
        <EmptyState title="Your cart is empty">
          <p>
            <TextLink to="/">Browse the catalogue</TextLink> and add the books you want.
          </p>
        </EmptyState>
      </div>
    );
  }

  return (
    <div className="mx-auto max-w-3xl">
      <PageHeader title="Your cart" />
      <div className="rounded-xl border border-stone-200 bg-white px-4 shadow-sm sm:px-6">
        <CartLines items={items} books={books.data} editable />
      </div>
      {books.isError && <p className="mt-2 text-sm text-stone-700">Prices shown are from when you added each book.</p>}
      <div className="mt-6 flex flex-col gap-4 rounded-xl border border-stone-200 bg-white p-5 shadow-sm sm:flex-row sm:items-center sm:justify-between">
        <div>
          <p className="text-sm text-stone-700">
            {countItems(items)} {countItems(items) === 1 ? "book" : "books"}
          </p>
          <p className="text-2xl font-bold text-stone-900">
            <span className="sr-only">Total: </span>
            {formatMoney(cartTotal(items, books.data))}
          </p>
        </div>
        <div className="flex flex-wrap gap-3">
          <Link to="/" className={buttonClass("secondary")}>
            Keep browsing
          </Link>
          <Link to="/checkout" className={buttonClass("primary")}>
            Go to checkout
          </Link>
        </div>
      </div>
    </div>
  );
}
