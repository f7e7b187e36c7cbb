import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { Link, useNavigate } from "react-router";
import { orderKeys } from "../../api/keys";
import { Alert, Button, buttonClass, EmptyState, FormError, PageHeader, TextLink } from "../../components/ui";
import { newIdempotencyKey } from "../../lib/ids";
import { formatMoney } from "../../lib/money";
import { fieldErrors, problemOf } from "../../lib/problem";
import { useCartBooks } from "../cart/api";
import { CartLines, cartTotal } from "../cart/CartLines";
import { cart, useCart, type CartItem } from "../cart/cart-store";
import { orderChanged, placeOrder, withPushedStatus } from "../orders/api";

function signature(items: CartItem[]): string {
  return items.map((i) => `${i.bookId}:${i.quantity}`).join(",");
}

/**
 * One key per checkout attempt: kept while the cart stays the same, so that a retried click
 * (after a lost answer or an error) places the same order at most once; a changed cart is a
 * new attempt with a new key.
 */
export function useCheckoutKey(items: CartItem[]): string {
  const sig = signature(items);
  const [attempt, setAttempt] = useState(() => ({ sig, key: newIdempotencyKey() }));
  if (attempt.sig !== sig) {
    const next = { sig, key: newIdempotencyKey() };
    setAttempt(next);
    return next.key;
  }
  return attempt.key;
}

/** Maps `lines[2].quantity`-style field errors onto the cart's book ids. */
function lineErrors(items: CartItem[], errors: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [field, message] of Object.entries(errors)) {
    const m = /^lines\[(\d+)\]/.exec(field);
    const item = m ? items[Number(m[1])] : undefined;
    if (item) out[item.bookId] = out[item.bookId] ? `${out[item.bookId] ?? ""} ${message}` : message;
  }
  return out;
}

// The order page comes next: fetch its code now, so it shows the order the moment it is placed.
const loadOrderPage = () => import("../orders/OrderPage");

export function CheckoutPage() {
  useEffect(() => {
    void loadOrderPage();
  }, []);
  const items = useCart();
  const books = useCartBooks(items.map((i) => i.bookId));
  const key = useCheckoutKey(items);
  const navigate = useNavigate();
  const qc = useQueryClient();
  const place = useMutation({
    mutationFn: (lines: CartItem[]) =>
      placeOrder(
        lines.map((i) => ({ book_id: i.bookId, quantity: i.quantity })),
        key,
      ),
    onSuccess: (placed) => {
      const order = withPushedStatus(placed);
      qc.setQueryData(orderKeys.detail(order.id), order);
      orderChanged(qc, order);
      cart.clear();
      void navigate(`/orders/${order.id}`, { state: { placed: true } });
    },
  });

  if (items.length === 0) {
    return (
      <div className="mx-auto max-w-3xl">
        <PageHeader title="Checkout" />
        <EmptyState title="Your cart is empty">
          <p>
            <TextLink to="/">Browse the catalogue</TextLink> to add books first.
          </p>
        </EmptyState>
      </div>
    );
  }

  const errors = fieldErrors(problemOf(place.error));
  const perLine = lineErrors(items, errors);
  const general = errors.lines;

  return (
    <div className="mx-auto max-w-3xl">
      <PageHeader title="Checkout">
        <TextLink to="/cart">Edit your cart</TextLink>
      </PageHeader>
      <div className="space-y-4">
        <FormError error={place.error} />
        {general && <Alert>{general}</Alert>}
        <section aria-labelledby="review-heading" className="rounded-xl border border-stone-200 bg-white px-4 shadow-sm sm:px-6">
          <h2 id="review-heading" className="pt-4 text-lg font-semibold text-stone-900">
            Review your order
          </h2>
          <CartLines items={items} books={books.data} editable={false} errors={perLine} />
        </section>
        <div className="flex flex-col gap-4 rounded-xl border border-stone-200 bg-white p-5 shadow-sm sm:flex-row sm:items-center sm:justify-between">
          <div>
            <p className="text-sm text-stone-700">To pay</p>
            <p className="text-2xl font-bold text-stone-900">{formatMoney(cartTotal(items, books.data))}</p>
            <p className="text-xs text-stone-600">Prices and stock are confirmed when the order is placed.</p>
          </div>
          <div className="flex flex-wrap gap-3">
            <Link to="/cart" className={buttonClass("secondary")}>
              Back to cart
            </Link>
            <Button disabled={place.isPending} onClick={() => place.mutate(items)}>
              {place.isPending ? "Placing your order…" : "Place order"}
            </Button>
          </div>
        </div>
      </div>
    </div>
  );
}
