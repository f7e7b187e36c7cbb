import { Link } from "react-router";
import type { Book } from "../../api/types";
import { BookCover } from "../../components/BookCover";
import { formatMoney } from "../../lib/money";
import { AddToCartButton } from "../cart/AddToCartButton";

export const FORMAT_LABELS: Record<Book["format"], string> = {
  hardcover: "Hardcover",
  paperback: "Paperback",
  ebook: "E-book",
  audiobook: "Audiobook",
};

export function BookCard({ book }: { book: Book }) {
  return (
    <li className="group flex flex-col rounded-xl bg-white p-3 shadow-sm ring-1 ring-stone-200 transition-shadow hover:shadow-md">
      <Link to={`/books/${book.id}`} className="block rounded-md focus-visible:outline-offset-4">
        <BookCover book={book} />
        <h2 className="mt-3 line-clamp-2 font-serif text-base font-semibold leading-snug text-stone-900 group-hover:text-teal-900">
          {book.title}
        </h2>
      </Link>
      <p className="mt-1 line-clamp-1 text-sm text-stone-700">{book.authors.join(", ")}</p>
      <p className="mt-1 text-xs text-stone-600">
        {FORMAT_LABELS[book.format]} · {book.genre}
      </p>
      <div className="mt-auto flex items-center justify-between gap-2 pt-3">
        <p className="text-lg font-bold text-stone-900">{formatMoney(book.price)}</p>
        <p className={`text-xs font-medium ${book.in_stock ? "text-emerald-800" : "text-red-800"}`}>
          {book.in_stock ? "In stock" : "Out of stock"}
        </p>
      </div>
      <AddToCartButton book={book} className="mt-2 w-full" />
    </li>
  );
}
