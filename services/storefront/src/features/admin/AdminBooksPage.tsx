import { useState } from "react";
import { Link, useSearchParams } from "react-router";
import { Pager, pageHrefs } from "../../components/Pager";
import { SearchForm } from "../../components/SearchForm";
import { Button, buttonClass, EmptyState, ErrorState, FormError, LoadingState, PageHeader } from "../../components/ui";
import { formatMoney } from "../../lib/money";
import { useBooks } from "../catalogue/api";
import { FORMAT_LABELS } from "../catalogue/BookCard";
import { useDeleteBook } from "./api";

const PAGE_SIZE = 25;

export function AdminBooksPage() {
  const [params, setParams] = useSearchParams();
  const q = params.get("q") ?? "";
  const page = Math.max(1, Number(params.get("page") ?? "1") || 1);
  const books = useBooks({ limit: PAGE_SIZE, page, ...(q ? { q } : { sort: "newest" }) });
  const del = useDeleteBook();
  const [confirming, setConfirming] = useState<string | null>(null);
  const search = (text: string) => setParams(text ? new URLSearchParams({ q: text }) : new URLSearchParams());

  return (
    <div>
      <PageHeader title="Books">
        <Link to="/admin/books/new" className={buttonClass("primary")}>
          Add a book
        </Link>
      </PageHeader>
      <SearchForm
        key={q}
        id="admin-book-search"
        label="Search books"
        placeholder="Title, author or ISBN"
        className="mb-4 max-w-md"
        buttonVariant="secondary"
        initial={q}
        onSearch={search}
      />
      <FormError error={del.error} />
      {books.isPending ? (
        <LoadingState label="Loading books" />
      ) : books.isError ? (
        <ErrorState error={books.error} onRetry={() => void books.refetch()} />
      ) : books.data.items.length === 0 ? (
        <EmptyState title="No books found" />
      ) : (
        <>
          <div className="overflow-x-auto rounded-xl border border-stone-200 bg-white shadow-sm">
            <table className="w-full sm:min-w-[40rem] text-left text-sm">
              <caption className="sr-only">Books in the catalogue</caption>
              <thead className="bg-stone-100 text-stone-800">
                <tr>
                  <th scope="col" className="px-3 py-3 sm:px-4 font-semibold">Title</th>
                  <th scope="col" className="hidden px-3 py-3 sm:px-4 font-semibold sm:table-cell">Format</th>
                  <th scope="col" className="px-3 py-3 sm:px-4 text-right font-semibold">Price</th>
                  <th scope="col" className="px-3 py-3 sm:px-4 text-right font-semibold">Stock</th>
                  <th scope="col" className="hidden px-3 py-3 text-right font-semibold sm:table-cell sm:px-4">Actions</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-stone-200">
                {books.data.items.map((b) => (
                  <tr key={b.id}>
                    <td className="px-3 py-3 sm:px-4">
                      <Link to={`/admin/books/${b.id}`} className="font-medium text-teal-900 underline-offset-2 hover:underline">
                        {b.title}
                      </Link>
                      <div className="text-stone-700">{b.authors.join(", ")}</div>
                    </td>
                    <td className="hidden px-3 py-3 sm:px-4 text-stone-800 sm:table-cell">{FORMAT_LABELS[b.format]}</td>
                    <td className="px-3 py-3 sm:px-4 text-right text-stone-900">{formatMoney(b.price)}</td>
                    <td className={`px-3 py-3 sm:px-4 text-right font-medium ${b.available > 0 ? "text-stone-900" : "text-red-800"}`}>{b.available}</td>
                    <td className="hidden px-3 py-3 text-right sm:table-cell sm:px-4">
                      {confirming === b.id ? (
                        <span className="inline-flex flex-wrap justify-end gap-2">
                          <Button variant="danger" disabled={del.isPending} onClick={() => del.mutate(b.id, { onSuccess: () => setConfirming(null) })}>
                            Delete “{b.title}”
                          </Button>
                          <Button variant="secondary" onClick={() => setConfirming(null)}>
                            Keep
                          </Button>
                        </span>
                      ) : (
                        <span className="inline-flex flex-wrap justify-end gap-2">
                          <Link to={`/admin/books/${b.id}`} className={buttonClass("secondary")} aria-label={`Edit ${b.title}`}>
                            Edit
                          </Link>
                          <Button variant="ghost" onClick={() => setConfirming(b.id)} aria-label={`Delete ${b.title}`}>
                            Delete
                          </Button>
                        </span>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager
            page={page}
            total={books.data.total}
            pageSize={PAGE_SIZE}
            label="Book pages"
            hrefFor={pageHrefs(params)}
          />
        </>
      )}
    </div>
  );
}
