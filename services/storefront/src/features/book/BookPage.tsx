import { useState } from "react";
import { Link, useLocation, useParams } from "react-router";
import type { Book } from "../../api/types";
import { BookCover } from "../../components/BookCover";
import { Alert, Button, buttonClass, EmptyState, ErrorState, FormError, LoadingState, TextLink } from "../../components/ui";
import { formatMoney } from "../../lib/money";
import { isNotFound } from "../../lib/problem";
import { useSession } from "../auth/use-session";
import { AddToCartButton } from "../cart/AddToCartButton";
import { FORMAT_LABELS } from "../catalogue/BookCard";
import { useBook, useBuyNow, usePendingOrder } from "./api";
import { BookDocument } from "./BookDocument";
import { paragraphs, summaryDate, summaryMethod } from "./summary";

export function BookPage() {
  const { id = "" } = useParams();
  const book = useBook(id);

  if (book.isPending) return <LoadingState label="Loading the book" />;
  if (book.isError) {
    if (isNotFound(book.error)) {
      return (
        <EmptyState title="Book not found">
          <p>
            It may have been removed from the catalogue. <TextLink to="/">Browse the catalogue</TextLink>
          </p>
        </EmptyState>
      );
    }
    return <ErrorState title="We could not load this book" error={book.error} onRetry={() => void book.refetch()} />;
  }
  return <BookDetails book={book.data} />;
}

function BookDetails({ book }: { book: Book }) {
  return (
    <article className="grid gap-8 md:grid-cols-[minmax(0,18rem)_1fr] lg:gap-12">
      <div className="mx-auto w-48 md:w-full">
        <BookCover book={book} size="lg" alt={`Cover of ${book.title}`} />
      </div>
      <div className="max-w-2xl">
        <nav aria-label="Breadcrumb" className="mb-2 text-sm text-stone-700">
          <Link to="/" className="underline-offset-2 hover:underline">
            Catalogue
          </Link>{" "}
          /{" "}
          <Link to={`/?genre=${encodeURIComponent(book.genre)}`} className="underline-offset-2 hover:underline">
            {book.genre}
          </Link>
        </nav>
        <h1 tabIndex={-1} className="font-serif text-3xl font-bold leading-tight text-stone-900 focus:outline-none sm:text-4xl">
          {book.title}
        </h1>
        <p className="mt-2 text-lg text-stone-800">by {book.authors.join(", ")}</p>

        <div className="mt-6 rounded-xl border border-stone-200 bg-white p-5 shadow-sm">
          <div className="flex flex-wrap items-baseline justify-between gap-3">
            <p className="text-3xl font-bold text-stone-900">{formatMoney(book.price)}</p>
            <p className={`font-medium ${book.in_stock ? "text-emerald-800" : "text-red-800"}`}>
              {book.in_stock ? `In stock · ${book.available} available` : "Out of stock"}
            </p>
          </div>
          <PurchaseActions book={book} />
          <BookDocument book={book} className="mt-4 border-t border-stone-200 pt-4" />
        </div>

        <BookSummary book={book} />

        <section aria-labelledby="about-heading" className="mt-8">
          <h2 id="about-heading" className="text-lg font-semibold text-stone-900">
            About this book
          </h2>
          {book.description ? (
            <p className="mt-2 whitespace-pre-line leading-relaxed text-stone-800">{book.description}</p>
          ) : (
            <p className="mt-2 text-stone-700">There is no description of this book yet.</p>
          )}
        </section>

        <section aria-labelledby="details-heading" className="mt-8">
          <h2 id="details-heading" className="text-lg font-semibold text-stone-900">
            Details
          </h2>
          <dl className="mt-2 grid grid-cols-[8rem_1fr] gap-x-4 gap-y-2 text-stone-800">
            <dt className="font-medium text-stone-700">Authors</dt>
            <dd>{book.authors.join(", ")}</dd>
            <dt className="font-medium text-stone-700">Publisher</dt>
            <dd>{book.publisher}</dd>
            <dt className="font-medium text-stone-700">Format</dt>
            <dd>{FORMAT_LABELS[book.format]}</dd>
            <dt className="font-medium text-stone-700">Genre</dt>
            <dd>{book.genre}</dd>
            <dt className="font-medium text-stone-700">ISBN</dt>
            <dd>{book.isbn}</dd>
          </dl>
        </section>
      </div>
    </article>
  );
}

/**
 * The summary of the book's document: its text once ready, with how and when it was made, and a
 * note while it is being written (the book is asked for again meanwhile, see `useBook`). Nothing
 * for a book without one; a failure is told to admins only. The text is plain text from the API
 * and is rendered as text.
 */
export function BookSummary({ book }: { book: Book }) {
  const state = useSession();
  const isAdmin = state.status === "authenticated" && state.user.role === "admin";
  const { summary } = book;
  const text = summary.status === "ready" ? paragraphs(summary.text ?? "") : [];
  const shown = summary.status === "pending" || text.length > 0 || (summary.status === "failed" && isAdmin);
  if (!shown) return null;

  let content;
  if (summary.status === "pending") {
    content = <p className="mt-2 text-stone-800">A summary is being written…</p>;
  } else if (summary.status === "failed") {
    content = (
      <>
        <p className="mt-2 text-red-900">
          {summary.reason ? `The summary failed: ${summary.reason}` : "The summary failed."}
        </p>
        <p className="mt-2 text-sm text-stone-800">
          <TextLink to={`/admin/books/${book.id}`}>Ask for a new summary on the book’s edit page</TextLink>
        </p>
      </>
    );
  } else {
    const method = summaryMethod(summary);
    const date = summaryDate(summary);
    content = (
      <>
        {text.map((paragraph, i) => (
          <p key={i} className="mt-2 whitespace-pre-line leading-relaxed text-stone-800">
            {paragraph}
          </p>
        ))}
        {(method !== null || date !== null) && (
          <p className="mt-3 text-sm text-stone-700">
            {method}
            {method && date && " · "}
            {date && summary.updated_at && <time dateTime={summary.updated_at}>{date}</time>}
          </p>
        )}
      </>
    );
  }
  return (
    <section aria-labelledby="summary-heading" className="mt-8 rounded-xl border border-amber-200 bg-amber-50 p-5">
      <h2 id="summary-heading" className="text-lg font-semibold text-stone-900">
        Summary
      </h2>
      {/* Read out when a pending summary arrives. */}
      <div aria-live="polite">{content}</div>
    </section>
  );
}

function PurchaseActions({ book }: { book: Book }) {
  const state = useSession();
  const location = useLocation();
  const pending = usePendingOrder(book.id);
  const buy = useBuyNow(book.id);
  const [lastOrder, setLastOrder] = useState<string | null>(null);

  if (state.status !== "authenticated") {
    return (
      <div className="mt-4 flex flex-wrap gap-3">
        <AddToCartButton book={book} />
        {state.status === "anonymous" && (
          <Link to={`/login?next=${encodeURIComponent(location.pathname)}`} className={buttonClass("primary")}>
            Log in to buy
          </Link>
        )}
      </div>
    );
  }

  const processing = pending.data != null || buy.isPending;
  return (
    <div className="mt-4 space-y-3">
      <div className="flex flex-wrap gap-3">
        <Button
          disabled={processing || !book.in_stock || pending.isPending}
          onClick={() => buy.mutate(undefined, { onSuccess: (o) => setLastOrder(o.id) })}
        >
          {processing ? "Order is being processed" : "Buy now"}
        </Button>
        <AddToCartButton book={book} />
      </div>
      <div aria-live="polite">
        {pending.data ? (
          <Alert tone="info">
            Your order for this book is being processed.{" "}
            <TextLink to={`/orders/${pending.data.id}`}>Follow your order</TextLink>
          </Alert>
        ) : lastOrder && !buy.isPending ? (
          <Alert tone="success">
            Your order was placed. <TextLink to={`/orders/${lastOrder}`}>See its status</TextLink>
          </Alert>
        ) : null}
      </div>
      <FormError error={buy.error} />
    </div>
  );
}
